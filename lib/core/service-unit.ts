/**
 * The systemd unit that runs `basis-worker start`. Rendered here rather than read from
 * templates/ so the compiled binary, Deno and Node all produce the same text; the file
 * templates/basis-worker.service is this function's output for the default paths (a test holds
 * the two together).
 */
import { BasisError } from "./errors.ts";

export type ServiceScope = "system" | "user";

export interface ServiceUnitOptions {
  scope: ServiceScope;
  /** Absolute path of the basis-worker binary. */
  binary: string;
  /** Absolute path of the 0600 worker env file; its values never appear in the unit. */
  envFile: string;
  /** System units only: the account that owns the env file (name or numeric id). */
  runAs?: { user: string; group: string };
}

export const SERVICE_NAME = "basis-worker.service";

/**
 * systemd splits ExecStart= on spaces, expands `%` specifiers and `$VAR`, and reads `\` as an
 * escape; a path with any of those would run something other than what was asked.
 */
const UNSAFE_PATH = /[\s"'\\%$;`]|[\u0000-\u001f\u007f]/;

export function renderServiceUnit(options: ServiceUnitOptions): string {
  const binary = requireUnitPath("binary", options.binary);
  const envFile = requireUnitPath("env file", options.envFile);
  const system = options.scope === "system";
  const lines = [
    "# Basis contributor worker. Written by `basis-worker service install`; safe to edit.",
    "# Secrets stay in the 0600 env file named below; this unit holds none and is world-readable.",
    "[Unit]",
    "Description=Basis contributor worker (serves inference jobs; routing and settlement are gated by the network)",
    "Documentation=https://basis.watch",
    "Wants=network-online.target",
    "After=network-online.target",
    "",
    "[Service]",
    "Type=simple",
    ...(system && options.runAs ? [`User=${requireAccount(options.runAs.user)}`, `Group=${requireAccount(options.runAs.group)}`] : []),
    `EnvironmentFile=${envFile}`,
    `ExecStart=${binary} start --env-file ${envFile}`,
    // SIGTERM makes the worker drain in-flight jobs; give it time before systemd kills it.
    "KillSignal=SIGTERM",
    "TimeoutStopSec=90",
    "Restart=on-failure",
    "RestartSec=5",
    // Bad settings exit with code 2: restarting would only repeat the same error.
    "RestartPreventExitStatus=2",
    "NoNewPrivileges=yes",
    "LockPersonality=yes",
    "RestrictRealtime=yes",
    "RestrictSUIDSGID=yes",
    "SystemCallArchitectures=native",
    ...(system ? systemHardening() : []),
    "",
    "[Install]",
    `WantedBy=${system ? "multi-user.target" : "default.target"}`,
    "",
  ];
  return lines.join("\n");
}

/**
 * Sandboxing that needs mount namespaces: always there for system units, but in a user unit it
 * fails to start where unprivileged user namespaces are off, so user units go without.
 */
function systemHardening(): string[] {
  return [
    "ProtectSystem=strict",
    "ProtectHome=read-only",
    "PrivateTmp=yes",
    "PrivateDevices=yes",
    "ProtectKernelTunables=yes",
    "ProtectKernelModules=yes",
    "ProtectKernelLogs=yes",
    "ProtectControlGroups=yes",
    "ProtectClock=yes",
    "ProtectHostname=yes",
    "RestrictNamespaces=yes",
    "RestrictAddressFamilies=AF_INET AF_INET6 AF_UNIX",
    "CapabilityBoundingSet=",
    "AmbientCapabilities=",
    "UMask=0077",
    // The one writable place: systemd creates /var/lib/basis-worker for the service user and
    // points XDG_STATE_HOME there, so the worker's pid and state files land inside it.
    "StateDirectory=basis-worker",
    "StateDirectoryMode=0700",
    "Environment=XDG_STATE_HOME=/var/lib",
  ];
}

function requireUnitPath(what: string, path: string): string {
  if (!path.startsWith("/") || UNSAFE_PATH.test(path)) {
    throw new BasisError("service_path_invalid", `The ${what} path must be absolute, without spaces, quotes, %, $ or backslashes.`, {
      exitCode: 2,
      hint: `Move the ${what} to a plain absolute path (for example /usr/local/bin or /etc/basis-worker) and pass that.`,
    });
  }
  return path;
}

function requireAccount(name: string): string {
  if (!/^[A-Za-z0-9_][A-Za-z0-9_.-]{0,31}$/.test(name)) {
    throw new BasisError("service_user_invalid", "The service account must be a user name or a numeric id.", {
      exitCode: 2,
      hint: "Pass --run-as with the name of the account that owns the env file.",
    });
  }
  return name;
}
