/**
 * A model name as workers advertise it, the API registers it and a price manifest lists it:
 * 1-200 characters without whitespace. The one home of this rule.
 */
export const MODEL_NAME_PATTERN = /^\S{1,200}$/;
/** The rule in words, to follow "must be". */
export const MODEL_NAME_RULE = "a name of 1-200 characters without spaces";
