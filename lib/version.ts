/** Build stamps: `bun build --define` fills these in; running from source they read "dev". */
declare const BASIS_BUILD_COMMIT: string | undefined;
declare const BASIS_BUILD_TARGET: string | undefined;

export const VERSION = "0.1.0";
export const COMMIT = typeof BASIS_BUILD_COMMIT === "string" ? BASIS_BUILD_COMMIT : "dev";
export const TARGET = typeof BASIS_BUILD_TARGET === "string" ? BASIS_BUILD_TARGET : "source";

export function versionLine(program: string): string {
  return `${program} ${VERSION} (commit ${COMMIT}, target ${TARGET})`;
}
