import { afterAll, describe, expect, test } from "bun:test";
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { keccak256, toBytes } from "viem";
import { BasisError } from "../../lib/core/errors.ts";
import { DEFAULT_KEY_ENV, readSigningKey, refuseKeyOnCommandLine } from "../../lib/io/key-source.ts";

// A throwaway key derived from a label: public, no funds, test only.
const KEY = keccak256(toBytes("basis-worker key-source test key"));
const MNEMONIC = "abandon ability able about above absent absorb abstract absurd abuse access accident";
const dir = mkdtempSync(join(tmpdir(), "basis-key-source-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function keyFile(name: string, content: string, mode: number): string {
  const path = join(dir, name);
  writeFileSync(path, content);
  chmodSync(path, mode);
  return path;
}

async function failure(promise: Promise<unknown>): Promise<BasisError> {
  const error = await promise.then(
    () => undefined,
    (caught: unknown) => caught,
  );
  if (!(error instanceof BasisError)) throw new Error(`expected a BasisError, got ${String(error)}`);
  return error;
}

function expectNotEchoed(error: BasisError, secret: string): void {
  const everything = `${error.message} ${error.hint ?? ""} ${JSON.stringify(error.toJSON())}`;
  expect(everything).not.toContain(secret.replace(/^0x/, ""));
}

describe("readSigningKey", () => {
  describe("--key-file", () => {
    for (const mode of [0o600, 0o400]) {
      test(`accepts a file with mode ${mode.toString(8)} and normalises the key`, async () => {
        const path = keyFile(`ok-${mode.toString(8)}`, `${KEY.slice(2).toUpperCase()}\n`, mode);
        expect(await readSigningKey({ keyFile: path, platform: "linux" })).toBe(KEY);
      });
    }

    for (const mode of [0o644, 0o640, 0o604, 0o700]) {
      test(`refuses mode ${mode.toString(8)} with a chmod hint`, async () => {
        const path = keyFile(`open-${mode.toString(8)}`, KEY, mode);
        const error = await failure(readSigningKey({ keyFile: path, platform: "linux" }));
        expect(error.code).toBe("key_file_mode");
        expect(error.hint).toBe(`Run: chmod 600 ${path}`);
        expectNotEchoed(error, KEY);
      });
    }

    test("refuses a directory", async () => {
      const path = join(dir, "a-directory");
      mkdirSync(path, { mode: 0o700 });
      expect((await failure(readSigningKey({ keyFile: path, platform: "linux" }))).code).toBe("key_file_not_regular");
    });

    test("refuses a missing file", async () => {
      expect((await failure(readSigningKey({ keyFile: join(dir, "absent"), platform: "linux" }))).code).toBe("key_file_missing");
    });

    const notKeys: [string, string][] = [
      ["a seed phrase", MNEMONIC],
      ["a key one character short", KEY.slice(0, -1)],
      ["a wallet address", "0x1111111111111111111111111111111111111111"],
      ["two keys", `${KEY}\n${KEY}`],
    ];
    for (const [name, content] of notKeys) {
      test(`refuses a file holding ${name} without echoing it`, async () => {
        const error = await failure(readSigningKey({ keyFile: keyFile(`bad-${name}`, content, 0o600), platform: "linux" }));
        expect(error.code).toBe("key_malformed");
        expectNotEchoed(error, content.split("\n")[0]!.slice(0, 40));
      });
    }
  });

  describe("--key-env", () => {
    test(`reads ${DEFAULT_KEY_ENV} when no source is given`, async () => {
      expect(await readSigningKey({ env: { [DEFAULT_KEY_ENV]: ` ${KEY.slice(2)} ` } })).toBe(KEY);
    });

    test("reads the named variable", async () => {
      expect(await readSigningKey({ keyEnv: "MY_KEY", env: { MY_KEY: KEY } })).toBe(KEY);
    });

    test("reports a missing variable by name", async () => {
      const error = await failure(readSigningKey({ keyEnv: "MY_KEY", env: {} }));
      expect(error.code).toBe("key_env_missing");
      expect(error.message).toContain("MY_KEY");
    });

    test("reports an empty variable as missing", async () => {
      expect((await failure(readSigningKey({ env: { [DEFAULT_KEY_ENV]: "  " } }))).code).toBe("key_env_missing");
    });

    test("refuses a value that is not a key without echoing it", async () => {
      const value = "not-a-key-but-secret-ish-value";
      const error = await failure(readSigningKey({ keyEnv: "MY_KEY", env: { MY_KEY: value } }));
      expect(error.code).toBe("key_malformed");
      expectNotEchoed(error, value);
    });

    test("refuses a key given where the variable name belongs, without echoing it", async () => {
      const error = await failure(readSigningKey({ keyEnv: KEY, env: {} }));
      expect(error.code).toBe("key_on_command_line");
      expectNotEchoed(error, KEY);
    });
  });

  describe("--keychain", () => {
    test("is refused on an OS without the macOS Keychain", async () => {
      expect((await failure(readSigningKey({ keychain: "svc:acct", platform: "linux" }))).code).toBe("keychain_unsupported");
    });

    test("refuses a reference that is not SERVICE:ACCOUNT", async () => {
      for (const ref of ["svc", ":acct", "svc:"]) {
        expect((await failure(readSigningKey({ keychain: ref, platform: "darwin" }))).code).toBe("keychain_ref_invalid");
      }
    });

    // `security` exists only on macOS; a stand-in script checks the arguments it is given.
    const bin = join(dir, "bin");
    mkdirSync(bin);
    const fake = join(bin, "security");
    writeFileSync(
      fake,
      `#!/bin/sh\n[ "$*" = "find-generic-password -s basis-reward -a gpu:1 -w" ] && { echo "${KEY.slice(2)}"; exit 0; }\necho "security: The specified item could not be found in the keychain." >&2\nexit 44\n`,
    );
    chmodSync(fake, 0o755);
    const env = { PATH: `${bin}:/usr/bin:/bin` };

    test("reads the generic password with find-generic-password -s -a -w", async () => {
      expect(await readSigningKey({ keychain: "basis-reward:gpu:1", platform: "darwin", env })).toBe(KEY);
    });

    test("reports a missing item", async () => {
      const error = await failure(readSigningKey({ keychain: "basis-reward:other", platform: "darwin", env }));
      expect(error.code).toBe("keychain_read_failed");
      expect(error.hint).toContain("add-generic-password");
    });
  });

  test("refuses more than one source", async () => {
    const path = keyFile("conflict", KEY, 0o600);
    expect((await failure(readSigningKey({ keyFile: path, keyEnv: "X", platform: "linux" }))).code).toBe("key_source_conflict");
  });
});

describe("refuseKeyOnCommandLine", () => {
  const refused: [string, string[], string][] = [
    ["a bare 64-hex key", ["price", "publish", KEY.slice(2)], KEY],
    ["a 0x key", ["price", "publish", "--worker-id", "gpu-1", KEY], KEY],
    ["a key as --flag=value", ["price", "publish", `--key=${KEY}`], KEY],
    ["a quoted seed phrase", ["price", "publish", "--key", MNEMONIC], MNEMONIC],
    ["an unquoted seed phrase", ["price", "publish", "--key", ...MNEMONIC.split(" ")], MNEMONIC.split(" ").slice(0, 3).join(" ")],
    ["a seed phrase as --flag=value", ["price", "publish", `--mnemonic=${MNEMONIC}`], MNEMONIC],
  ];
  for (const [name, argv, secret] of refused) {
    test(`refuses ${name} without echoing it`, () => {
      try {
        refuseKeyOnCommandLine(argv);
        throw new Error("expected a throw");
      } catch (error) {
        expect(error).toBeInstanceOf(BasisError);
        expect((error as BasisError).code).toBe("key_on_command_line");
        expect((error as BasisError).exitCode).toBe(2);
        expectNotEchoed(error as BasisError, secret);
      }
    });
  }

  test("accepts an ordinary price publish command line", () => {
    const argv = ["price", "publish", "--worker-id", "gpu-1", "--prices", "./prices.json", "--key-file", "./worker-reward.key", "--wallet=0x1111111111111111111111111111111111111111", "--dry-run"];
    expect(() => refuseKeyOnCommandLine(argv)).not.toThrow();
  });
});
