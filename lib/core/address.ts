/**
 * The shape of a public EVM address, 0x + 40 hex: the one home of this rule. wallet.ts adds the
 * EIP-55 checksum and the secret refusal for operator input; schemas that carry an address
 * already checked (protocol, manifest, API answers) test the shape with this pattern.
 */
export const WALLET_PATTERN = /^0x[0-9a-fA-F]{40}$/;
/** The pattern without its anchors, to build others from (a wallet-bound token is `<wallet>.<hex>`). */
export const WALLET_PATTERN_BODY = WALLET_PATTERN.source.slice(1, -1);
