/**
 * `npm run check -- [options]`: reads the stack outputs (components/outputs.ts: StackOutputs), prints a table of
 * the source and replicas, and exits 0 when every replica is healthy, 1 when any is not, 2 when the outputs
 * cannot be read or do not match the contract (or the arguments are wrong).
 *
 * The I/O lives here (arguments, files, stdin, the Pulumi CLI); validation and judgement are the pure
 * parseStackOutputs / judge / renderTable in components/outputs.ts. Nothing here prints input verbatim, so a
 * password in the input (e.g. from `--show-secrets`) never reaches the log.
 */
import { spawn } from "node:child_process";
import { readFile } from "node:fs/promises";
import { parseArgs } from "node:util";
import { judge, parseStackOutputs, renderTable, type Verdict } from "../components/outputs";
import { chooseBackend, cliEnv, DEV_PASSPHRASE, PROJECT_ROOT, resolveCli, WrapperError, type Cli } from "./pulumi";

const USAGE = `Usage: npm run check -- [options]

Reads the stack outputs and judges replication health.

Options:
  --file FILE     read the outputs from FILE ("-" for stdin) instead of \`pulumi stack output --json\`
  --stack NAME    the Pulumi stack to read (passed to the Pulumi CLI as --stack NAME)
  --refresh       run \`pulumi refresh --yes --run-program\` first so the statuses are live (not with --file)
  --max-lag S     a replica more than S seconds behind its source (or of unknown lag) is unhealthy
  --json          print a machine-readable verdict instead of the table
  -h, --help      print this help

Exit codes: 0 every replica healthy · 1 a replica unhealthy · 2 outputs unreadable, not matching the
contract, or bad arguments.`;

/** Exit codes, as documented in --help and README.md (Outputs). */
const EXIT = { healthy: 0, unhealthy: 1, unreadable: 2 } as const;

/** A failure that ends the check with exit code 2; its problems are printed one per line. */
class Unreadable extends Error {
    constructor(message: string, readonly problems: string[] = []) {
        super(message);
    }
}

interface Options {
    file?: string;
    stack?: string;
    refresh: boolean;
    maxLagSeconds?: number;
    json: boolean;
    help: boolean;
}

function parseOptions(argv: string[]): Options {
    let values;
    try {
        ({ values } = parseArgs({
            args: argv,
            strict: true,
            allowPositionals: false,
            options: {
                file: { type: "string" },
                stack: { type: "string" },
                refresh: { type: "boolean", default: false },
                "max-lag": { type: "string" },
                json: { type: "boolean", default: false },
                help: { type: "boolean", short: "h", default: false },
            },
        }));
    } catch (err) {
        throw new Unreadable(`${(err as Error).message}\n\n${USAGE}`);
    }
    let maxLagSeconds: number | undefined;
    if (values["max-lag"] !== undefined) {
        maxLagSeconds = Number(values["max-lag"]);
        if (values["max-lag"].trim() === "" || !Number.isFinite(maxLagSeconds) || maxLagSeconds < 0) {
            throw new Unreadable(`--max-lag: expected a number of seconds >= 0, got ${JSON.stringify(values["max-lag"])}`);
        }
    }
    if (values.refresh && values.file !== undefined) {
        throw new Unreadable("--refresh needs the Pulumi CLI and cannot be combined with --file");
    }
    return { file: values.file, stack: values.stack, refresh: values.refresh, maxLagSeconds, json: values.json, help: values.help };
}

/**
 * The Pulumi CLI, found as `npm run up` finds it (bin/pulumi.ts: PULUMI_CLI, PATH, .pulumi-cli/<version>/); with
 * --refresh a missing one is installed there, as `npm run up` would.
 */
async function findCli(install: boolean): Promise<Cli> {
    try {
        return await resolveCli({ root: PROJECT_ROOT, env: process.env, install, log: (line) => process.stderr.write(`check: ${line}\n`) });
    } catch (err) {
        if (!(err instanceof WrapperError)) throw err;
        const instead = '; install it (`npm run up` or `npm run check -- --refresh` installs it there), set PULUMI_CLI, or pass --file FILE ("-" for stdin) with the output of `pulumi stack output --json`';
        throw new Unreadable(install ? err.message : `${err.message}${instead}`);
    }
}

/**
 * The children's environment, as bin/pulumi.ts (npm run up) makes it: the same backend (the project-local one when
 * not logged in), and the dev passphrase when none is set (it only decrypts: a stack made with another passphrase
 * refuses it, nothing is encrypted with it).
 */
async function pulumiEnv(cli: Cli): Promise<NodeJS.ProcessEnv> {
    const env = cliEnv(cli, process.env);
    await chooseBackend(cli, env, PROJECT_ROOT, (line) => process.stderr.write(`check: ${line}\n`));
    if (!env.PULUMI_CONFIG_PASSPHRASE && !env.PULUMI_CONFIG_PASSPHRASE_FILE) env.PULUMI_CONFIG_PASSPHRASE = DEV_PASSPHRASE;
    return env;
}

/** Runs the Pulumi CLI; resolves with its stdout. Its own progress goes to our stderr when `echo` is set. */
function pulumi(cli: Cli, env: NodeJS.ProcessEnv, args: string[], echo: boolean): Promise<string> {
    return new Promise((resolve, reject) => {
        const child = spawn(cli.command, args, { env, stdio: ["ignore", echo ? process.stderr : "pipe", "pipe"] });
        let stdout = "";
        let stderr = "";
        child.stdout?.setEncoding("utf8").on("data", (chunk: string) => (stdout += chunk));
        child.stderr?.setEncoding("utf8").on("data", (chunk: string) => {
            stderr += chunk;
            if (echo) process.stderr.write(chunk);
        });
        child.on("error", (err: NodeJS.ErrnoException) => reject(new Unreadable(`could not run ${cli.command}: ${err.message}`)));
        child.on("close", (code) => {
            if (code === 0) resolve(stdout);
            else reject(new Unreadable(`\`pulumi ${args.join(" ")}\` failed (exit ${code})${stderr.trim() ? `:\n${stderr.trim()}` : ""}`));
        });
    });
}

async function readStdin(): Promise<string> {
    let text = "";
    for await (const chunk of process.stdin.setEncoding("utf8")) text += chunk;
    return text;
}

/** Reads the raw outputs text and names where it came from. */
async function readOutputs(options: Options): Promise<{ text: string; origin: string }> {
    if (options.file === "-") return { text: await readStdin(), origin: "stdin" };
    if (options.file !== undefined) {
        try {
            return { text: await readFile(options.file, "utf8"), origin: options.file };
        } catch (err) {
            throw new Unreadable(`cannot read ${options.file}: ${(err as Error).message}`);
        }
    }
    const stackArgs = options.stack !== undefined ? ["--stack", options.stack] : [];
    const cli = await findCli(options.refresh);
    // --run-program: a plain refresh updates the replication resource's state but never the stack's outputs (they
    // belong to the root component, which the engine does not change on refresh), so `stack output` would still
    // print the statuses of the last `up`. Running the program writes them anew (Pulumi CLI 3.160+).
    const env = await pulumiEnv(cli);
    if (options.refresh) await pulumi(cli, env, ["refresh", "--yes", "--run-program", ...stackArgs], true);
    return { text: await pulumi(cli, env, ["stack", "output", "--json", ...stackArgs], false), origin: "`pulumi stack output --json`" };
}

/**
 * JSON.parse, with V8's error cut before its quote of the input (`Unexpected token 'h', ..."pw": hunter2" is
 * not valid JSON`): the input may hold secrets (`--show-secrets`), so no part of it is echoed.
 */
function parseJson(text: string, origin: string): unknown {
    try {
        return JSON.parse(text);
    } catch (err) {
        const message = (err as Error).message;
        const quote = message.indexOf('"');
        const reason = (quote < 0 ? message : message.slice(0, quote)).replace(/[\s,.]+$/, "");
        throw new Unreadable(`${origin} is not valid JSON${reason ? `: ${reason}` : ""}`);
    }
}

async function main(argv: string[]): Promise<number> {
    const options = parseOptions(argv);
    if (options.help) {
        process.stdout.write(`${USAGE}\n`);
        return EXIT.healthy;
    }
    const { text, origin } = await readOutputs(options);
    const parsed = parseStackOutputs(parseJson(text, origin));
    if (!parsed.ok) throw new Unreadable(`${origin} does not match the output contract (StackOutputs):`, parsed.problems);
    const verdict: Verdict = judge(parsed.outputs, { maxLagSeconds: options.maxLagSeconds });
    process.stdout.write(options.json ? `${JSON.stringify(verdict, null, 2)}\n` : `${renderTable(verdict)}\n`);
    return verdict.healthy ? EXIT.healthy : EXIT.unhealthy;
}

main(process.argv.slice(2)).then(
    (code) => (process.exitCode = code),
    (caught: unknown) => {
        // Any other failure is a bug here, but still "could not judge": exit 2, never 1 (which means unhealthy).
        const err = caught instanceof Unreadable ? caught : new Unreadable(`internal error: ${caught instanceof Error ? caught.stack : String(caught)}`);
        process.stderr.write(`check: ${err.message}\n${err.problems.map((p) => `  - ${p}\n`).join("")}`);
        // With --json, stdout still carries one JSON document, so a pipeline can parse every outcome.
        if (process.argv.includes("--json")) {
            process.stdout.write(`${JSON.stringify({ healthy: false, error: err.message, problems: err.problems }, null, 2)}\n`);
        }
        process.exitCode = EXIT.unreadable;
    },
);
