/**
 * `basis-worker service install`: writes the systemd unit (mode 0644: it holds no secret) and
 * returns the systemctl commands for the operator to run. It never runs them: enabling a
 * service is the operator's decision, and often needs sudo we should not ask for.
 */
import { mkdir, stat } from "node:fs/promises";
import { homedir } from "node:os";
import { dirname, join, resolve } from "node:path";
import process from "node:process";
import { BasisError } from "../core/errors.ts";
import { renderServiceUnit, SERVICE_NAME, type ServiceScope } from "../core/service-unit.ts";
import { writeFileAtomic } from "./atomic-write.ts";
import { isCompiled } from "./sibling.ts";

export interface InstallServiceOptions {
  scope: ServiceScope;
  envFile: string;
  binary?: string;
  unitDir?: string;
  /** System units: the account to run as; defaults to the owner of the env file. */
  runAs?: string;
  force?: boolean;
}

export interface InstallServiceResult {
  unitPath: string;
  scope: ServiceScope;
  binary: string;
  envFile: string;
  runAs?: string;
  commands: string[];
}

const UNIT_MODE = 0o644;

export async function installService(options: InstallServiceOptions): Promise<InstallServiceResult> {
  const envFile = resolve(options.envFile);
  const owner = await requirePrivateEnvFile(envFile);
  const binary = resolve(options.binary ?? currentBinary());
  await requireExecutable(binary);
  const runAs = options.scope === "system" ? (options.runAs ?? String(owner.uid)) : undefined;
  const text = renderServiceUnit({
    scope: options.scope,
    binary,
    envFile,
    ...(runAs ? { runAs: { user: runAs, group: options.runAs ? runAs : String(owner.gid) } } : {}),
  });
  const unitDir = resolve(options.unitDir ?? defaultUnitDir(options.scope));
  if (options.scope === "user") await mkdir(unitDir, { recursive: true });
  const unitPath = join(unitDir, SERVICE_NAME);
  await writePublicFile(unitPath, text, options.force === true);
  return { unitPath, scope: options.scope, binary, envFile, ...(runAs ? { runAs } : {}), commands: describeCommands(options.scope) };
}

export function defaultUnitDir(scope: ServiceScope): string {
  if (scope === "system") return "/etc/systemd/system";
  const config = process.env.XDG_CONFIG_HOME || join(homedir(), ".config");
  return join(config, "systemd", "user");
}

function describeCommands(scope: ServiceScope): string[] {
  if (scope === "system") {
    return [
      "sudo systemctl daemon-reload",
      `sudo systemctl enable --now ${SERVICE_NAME}`,
      `systemctl status ${SERVICE_NAME}`,
      `journalctl -u ${SERVICE_NAME} -f`,
    ];
  }
  return [
    "systemctl --user daemon-reload",
    `systemctl --user enable --now ${SERVICE_NAME}`,
    // Without lingering a user service stops at logout.
    `loginctl enable-linger ${process.env.USER || "$USER"}`,
    `journalctl --user -u ${SERVICE_NAME} -f`,
  ];
}

/** From source, process.execPath is bun or deno, not the worker: the operator must say where it is. */
function currentBinary(): string {
  if (isCompiled()) return process.execPath;
  throw new BasisError("service_binary_unknown", "Running from source: cannot tell which basis-worker binary the service should run.", {
    exitCode: 2,
    hint: "Pass --binary /usr/local/bin/basis-worker (the installed compiled binary).",
  });
}

async function requirePrivateEnvFile(envFile: string): Promise<{ uid: number; gid: number }> {
  const info = await stat(envFile).catch(() => undefined);
  if (!info?.isFile()) {
    throw new BasisError("env_file_missing", `The env file ${envFile} does not exist.`, {
      exitCode: 2,
      hint: "Write it first: basis-worker setup --write-env --wallet 0x... --runtime echo --out ./worker.env",
    });
  }
  if ((info.mode & 0o077) !== 0) {
    throw new BasisError("env_file_loose", `${envFile} is readable by others (mode ${(info.mode & 0o777).toString(8)}); it may hold secrets.`, {
      exitCode: 2,
      hint: `Run chmod 600 ${envFile}, then install the service again.`,
    });
  }
  return { uid: info.uid, gid: info.gid };
}

async function requireExecutable(binary: string): Promise<void> {
  const info = await stat(binary).catch(() => undefined);
  if (!info?.isFile() || (info.mode & 0o111) === 0) {
    throw new BasisError("service_binary_missing", `${binary} is not an executable file.`, {
      exitCode: 2,
      hint: "Pass --binary with the path of the installed basis-worker binary.",
    });
  }
}

/** Mode 0644 (systemd and people reviewing it read it): never half-written, no silent overwrite. */
async function writePublicFile(path: string, text: string, force: boolean): Promise<void> {
  const folder = dirname(path);
  if (!(await stat(folder).catch(() => undefined))?.isDirectory()) {
    throw new BasisError("unit_dir_missing", `The unit folder ${folder} does not exist.`, {
      exitCode: 2,
      hint: "Is systemd installed? Pass --unit-dir to write the unit elsewhere.",
    });
  }
  await writeFileAtomic(path, text, { mode: UNIT_MODE, replace: force }).catch((error: unknown) => {
    throw describeWriteError(error, path);
  });
}

function describeWriteError(error: unknown, path: string): BasisError {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  if (code === "EEXIST") {
    return new BasisError("out_exists", `${path} already exists; it was left unchanged.`, {
      exitCode: 2,
      hint: "Pass --force to replace it.",
    });
  }
  if (code === "EACCES" || code === "EPERM") {
    return new BasisError("unit_dir_not_writable", `No permission to write ${path}.`, {
      exitCode: 2,
      hint: "A system unit needs root: run it with sudo, or pass --user for a per-user unit.",
    });
  }
  return new BasisError("out_write_failed", `Could not write ${path}: ${code ?? "unknown error"}.`, { cause: error });
}
