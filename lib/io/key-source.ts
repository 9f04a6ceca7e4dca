/**
 * Where `price publish` reads the reward wallet's private key: exactly one local source the
 * operator controls (a 0600/0400 file, an environment variable, or a macOS Keychain item).
 * This is the only place the project reads a key, and only to sign one manifest: the key is
 * returned to the caller and kept nowhere here, and no error quotes it (or any part of it).
 */
import { execFile } from "node:child_process";
import { readFile, stat } from "node:fs/promises";
import type { Hex } from "viem";
import { BasisError } from "../core/errors.ts";
import { secretKind } from "../core/secrets.ts";
import { secretArgumentIndex } from "../core/usage.ts";

export const DEFAULT_KEY_ENV = "BASIS_WORKER_PRIVATE_KEY";

const KEY = /^(0x)?([0-9a-fA-F]{64})$/;
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
/** A key file holds one line; anything much larger is not a key file. */
const MAX_KEY_FILE_BYTES = 1024;
const SOURCES_HINT =
  "Give exactly one of --key-file PATH (mode 0600), --key-env NAME (default BASIS_WORKER_PRIVATE_KEY) or --keychain SERVICE:ACCOUNT.";

export interface SigningKeyOptions {
  keyFile?: string;
  keyEnv?: string;
  /** `SERVICE:ACCOUNT` of a macOS Keychain generic password. */
  keychain?: string;
  /** Environment to read --key-env from, and to run `security` with; defaults to process.env. */
  env?: Record<string, string | undefined>;
  /** Defaults to process.platform; the Keychain exists only on darwin. */
  platform?: string;
}

function toKey(raw: string, source: string): Hex {
  const match = KEY.exec(raw.trim());
  if (!match) {
    const phrase = secretKind(raw) === "mnemonic" ? " A seed phrase is not accepted; export the account's private key instead." : "";
    throw new BasisError("key_malformed", `${source} does not hold a private key (64 hex characters, optionally 0x-prefixed).${phrase}`, {
      exitCode: 2,
      hint: "Put only the reward wallet's hex private key there, on one line.",
    });
  }
  return `0x${match[2]!.toLowerCase()}`;
}

async function readKeyFile(path: string, platform: string): Promise<Hex> {
  let info;
  try {
    info = await stat(path);
  } catch {
    throw new BasisError("key_file_missing", `Cannot read the key file ${path}.`, {
      exitCode: 2,
      hint: "Check the path; the file should hold only the reward wallet's hex private key.",
    });
  }
  if (!info.isFile()) {
    throw new BasisError("key_file_not_regular", `The key file ${path} is not a regular file.`, {
      exitCode: 2,
      hint: "Point --key-file at the file that holds the key, not a directory or device.",
    });
  }
  // POSIX modes do not exist on Windows (stat reports 0666/0444 regardless), so only there the
  // file's ACL is left to the operator.
  const mode = info.mode & 0o777;
  if (platform !== "win32" && mode !== 0o600 && mode !== 0o400) {
    throw new BasisError("key_file_mode", `The key file ${path} is readable by others (mode ${mode.toString(8).padStart(4, "0")}); refusing to use it.`, {
      exitCode: 2,
      hint: `Run: chmod 600 ${path}`,
    });
  }
  if (info.size > MAX_KEY_FILE_BYTES) {
    throw new BasisError("key_malformed", `The key file ${path} is too large to hold only a private key.`, { exitCode: 2 });
  }
  return toKey(await readFile(path, "utf8"), `The key file ${path}`);
}

function readKeyEnv(name: string, env: Record<string, string | undefined>): Hex {
  if (!ENV_NAME.test(name)) {
    throw new BasisError("key_env_name_invalid", "--key-env must be an environment variable NAME, not a value.", {
      exitCode: 2,
      hint: `For example --key-env ${DEFAULT_KEY_ENV}.`,
    });
  }
  const value = env[name];
  if (value === undefined || value.trim() === "") {
    throw new BasisError("key_env_missing", `The environment variable ${name} is not set.`, {
      exitCode: 2,
      hint: `Set ${name} from a password manager in this shell, or use --key-file PATH with a chmod 600 file.`,
    });
  }
  return toKey(value, `The environment variable ${name}`);
}

function runSecurity(args: string[], env: Record<string, string | undefined>): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile("security", args, { env, timeout: 30_000, maxBuffer: 64 * 1024 }, (error, stdout) => {
      if (error) reject(error);
      else resolve(String(stdout));
    });
  });
}

async function readKeychain(ref: string, platform: string, env: Record<string, string | undefined>): Promise<Hex> {
  if (platform !== "darwin") {
    throw new BasisError("keychain_unsupported", "--keychain reads the macOS Keychain and is not available on this OS.", {
      exitCode: 2,
      hint: "Use --key-file PATH (chmod 600) or --key-env NAME instead.",
    });
  }
  const colon = ref.indexOf(":");
  const service = colon > 0 ? ref.slice(0, colon) : "";
  const account = colon > 0 ? ref.slice(colon + 1) : "";
  if (service === "" || account === "") {
    throw new BasisError("keychain_ref_invalid", "--keychain must be SERVICE:ACCOUNT.", {
      exitCode: 2,
      hint: "For example --keychain basis-worker-reward-key:my-gpu-1",
    });
  }
  let output: string;
  try {
    output = await runSecurity(["find-generic-password", "-s", service, "-a", account, "-w"], env);
  } catch {
    throw new BasisError("keychain_read_failed", `No Keychain item found for service ${service}, account ${account} (or access was denied).`, {
      exitCode: 1,
      hint: `Add it with: security add-generic-password -s ${service} -a ${account} -w   (it prompts for the key)`,
    });
  }
  return toKey(output, "The Keychain item");
}

/**
 * Read the signing key from exactly one source (--key-env with the default name when none is
 * given), normalised to 0x + 64 lowercase hex.
 */
export async function readSigningKey(options: SigningKeyOptions = {}): Promise<Hex> {
  const given = [options.keyFile, options.keyEnv, options.keychain].filter((source) => source !== undefined);
  if (given.length > 1) {
    throw new BasisError("key_source_conflict", "More than one key source was given.", { exitCode: 2, hint: SOURCES_HINT });
  }
  // A key pasted where a path or name belongs would otherwise reach an error message.
  refuseKeyOnCommandLine(given);
  const env = options.env ?? process.env;
  const platform = options.platform ?? process.platform;
  if (options.keyFile !== undefined) return readKeyFile(options.keyFile, platform);
  if (options.keychain !== undefined) return readKeychain(options.keychain, platform, env);
  return readKeyEnv(options.keyEnv ?? DEFAULT_KEY_ENV, env);
}

/**
 * Refuse a private key or seed phrase anywhere on the command line (it would be in shell
 * history and the process list). Throws `key_on_command_line` (exit 2) without echoing it.
 */
export function refuseKeyOnCommandLine(argv: readonly string[]): void {
  const index = secretArgumentIndex(argv);
  if (index !== undefined) {
    throw new BasisError(
      "key_on_command_line",
      `Refused: argument ${index + 1} looks like a private key or seed phrase. Never pass a key on the command line; nothing was signed or sent.`,
      {
        exitCode: 2,
        hint: "Put the key in a chmod 600 file (--key-file PATH), an environment variable (--key-env NAME) or the macOS Keychain (--keychain SERVICE:ACCOUNT), and remove it from your shell history.",
      },
    );
  }
}
