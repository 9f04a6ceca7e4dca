/**
 * What the Basis API's answers mean, in plain words: a 2xx body is returned as JSON, any other
 * status becomes a BasisError with a stable code and a hint an operator can act on. Only slugs
 * from the server's body reach a message, so a server cannot inject text into our output.
 */
import { API_PATHS } from "../core/api-contract.ts";
import { BasisError } from "../core/errors.ts";

export interface ApiRequest {
  method: string;
  path: string;
  body: unknown;
  workerId: string | undefined;
  /** Sent on the POSTs that honour it (IDEMPOTENT_POSTS), the same on every try of one call. */
  idempotencyKey?: string | undefined;
}

export function readAnswer(answer: { status: number; text: string }, request: ApiRequest, origin: string): unknown {
  const body = parseJson(answer.text);
  if (answer.status >= 200 && answer.status < 300) {
    if (body === undefined) {
      throw new BasisError("api_bad_response", `The Basis API at ${origin} answered ${request.path.split("?")[0]} with something that is not JSON.`, {
        hint: "Check the --base URL: it must point at the Basis API, not a web page or proxy.",
      });
    }
    return body;
  }
  if (request.path === API_PATHS.prices) {
    const refused = mapPricesFailure(answer.status, body, request.workerId ?? "");
    if (refused) throw refused;
  }
  throw mapFailure(answer.status, slugField(body, "error"), slugField(body, "field"), request, origin);
}

/** Plain words for the answers an operator can act on; the code is stable for scripts. */
function mapFailure(status: number, serverCode: string | undefined, field: string | undefined, request: ApiRequest, origin: string): BasisError {
  const id = request.workerId ?? "";
  const details = { status, ...(serverCode ? { server_error: serverCode } : {}), ...(field ? { field } : {}) };
  if (status === 400 && (serverCode?.includes("wallet") || field?.includes("wallet"))) {
    return new BasisError("wallet_malformed", "The Basis API refused the wallet as malformed (it must be a public 0x + 40 hex address).", {
      exitCode: 2,
      details,
      hint: "Copy your PUBLIC wallet address again; never a private key or seed phrase.",
    });
  }
  if (status === 400) {
    return new BasisError("api_bad_request", `The Basis API refused the request as malformed${field ? ` (field ${field})` : serverCode ? ` (${serverCode})` : ""}.`, {
      exitCode: 2,
      details,
    });
  }
  if (status === 401) {
    return new BasisError("auth_required", `The Basis API at ${origin} needs you to sign in first.`, {
      details,
      hint: "Sign in at https://basis.watch and connect the wallet, then try again.",
    });
  }
  if (status === 403 && serverCode === "wallet_not_linked") {
    return new BasisError("wallet_not_linked", "This wallet is not linked to your basis.watch account.", {
      details,
      hint: "Connect that wallet at https://basis.watch first, then register again.",
    });
  }
  if (status === 409) {
    return new BasisError("worker_id_taken", `The worker id ${id} is already registered to another wallet.`, {
      exitCode: 2,
      details,
      hint: "Choose another --worker-id (a worker id stays bound to its first wallet).",
    });
  }
  if (status === 404 && (serverCode === "worker_not_found" || serverCode === undefined) && id && !request.path.startsWith(API_PATHS.onboarding)) {
    return new BasisError("worker_not_found", `No worker ${id} is registered at ${origin}.`, {
      details,
      hint: `Register it first: basis-worker register --wallet 0x... --worker-id ${id}`,
    });
  }
  if (status === 404) {
    return new BasisError("api_not_found", `The Basis API at ${origin} does not serve ${request.path.split("?")[0]}.`, {
      details,
      hint: "Check the --base URL; an older API may lack this endpoint.",
    });
  }
  return new BasisError("api_error", `The Basis API at ${origin} refused the request with HTTP ${status}${serverCode ? ` (${serverCode})` : ""}.`, {
    details,
  });
}

const MANIFEST_FIELD = /^[A-Za-z_][A-Za-z0-9_.[\]]{0,99}$/;

/** The price publish refusals in plain words; other statuses fall through to mapFailure. */
function mapPricesFailure(status: number, body: unknown, workerId: string): BasisError | undefined {
  const code = slugField(body, "error");
  const read = (name: string) => {
    const value = body !== null && typeof body === "object" ? (body as Record<string, unknown>)[name] : undefined;
    return typeof value === "string" && MANIFEST_FIELD.test(value) ? value : undefined;
  };
  const field = read("field");
  const rail = read("rail");
  const details = { status, ...(code ? { server_error: code } : {}), ...(field ? { field } : {}), ...(rail ? { rail } : {}) };
  if (status === 400) {
    const why =
      code === "price_out_of_rails" ? `${field ?? "a price"} is outside the rail ${rail ?? "(unnamed)"}`
      : code === "offer_expired" ? "it has already expired (valid_until has passed)"
      : code === "offer_not_yet_valid" ? "its issued_at is ahead of the server clock; check this machine's clock"
      : field ? `${field} is invalid` : `it is malformed${code ? ` (${code})` : ""}`;
    return new BasisError("manifest_rejected", `The Basis API rejected the price manifest: ${why}.`, {
      exitCode: 2,
      details,
      hint: "Fix the prices file (see templates/prices.example.json and docs/PRICES.md) and publish again.",
    });
  }
  if (status === 403 && code === "signer_not_registered_wallet") {
    return new BasisError("signer_not_registered_wallet", `The manifest is not signed by the wallet registered for worker ${workerId}.`, {
      exitCode: 2,
      details,
      hint: "Sign with the private key of the reward wallet this worker registered with.",
    });
  }
  if (status === 409 && code === "offer_replayed") {
    return new BasisError("offer_replayed", `The Basis API already holds this offer or a newer one for worker ${workerId}.`, {
      exitCode: 2,
      details,
      hint: "Run price publish again: each run signs a fresh manifest with a new nonce and time.",
    });
  }
  return undefined;
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/** A field of an error answer, kept only when it is a plain slug: a server cannot inject text into our output. */
function slugField(body: unknown, name: "error" | "field"): string | undefined {
  const value = body !== null && typeof body === "object" ? (body as Record<string, unknown>)[name] : undefined;
  return typeof value === "string" && /^[A-Za-z][A-Za-z0-9_.]{0,63}$/.test(value) ? value : undefined;
}
