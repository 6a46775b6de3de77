import { COMMANDS } from '../config/config.js';
import type { CompleteConfig, CompletionConfig, Shell } from '../config/completion.js';
import { SHELLS } from '../config/completion.js';
import { EXIT_OK } from '../config/exit.js';
import type { Command, FlagDef } from '../config/flags.js';
import type { CliIO } from './io.js';

/*
 * Shell completion in cobra's protocol, which kubectl speaks to plugins (kubectl ≥ 1.26,
 * k8s.io/kubectl/pkg/cmd/plugin/plugin_completion.go: it runs `kubectl_complete-nsreport` with
 * the words after `nsreport`, the last one being typed, and reads one candidate a line, then
 * `:DIRECTIVE`). `nsreport __complete WORD…` answers it; the scripts of `nsreport completion`
 * ask it the same way. Directives (spf13/cobra completions.go): 4 = no file completion, 0 =
 * the shell's default (files).
 */

export const NO_FILES = 4;
export const FILES = 0;

/** What completion may read of the cluster: names only, never an error (empty instead). */
export interface NameSource {
  namespaces(): Promise<string[]>;
  /** `namespace/name` of the NamespaceReports in one namespace, or all (null). */
  reports(namespace: string | null): Promise<string[]>;
}

export interface Completion {
  readonly candidates: readonly string[];
  readonly directive: number;
}

const names = (defs: Command<unknown>['flags']): string[] =>
  Object.entries(defs).flatMap(([k, d]) => [`--${k}`, ...(d.short ? [`-${d.short}`] : [])]);

/** The flag a word names (`--output`, `-o`), when the command has it. */
function flagOf(command: Command<unknown>, word: string): FlagDef | undefined {
  const long = /^--([^=]+)$/.exec(word)?.[1];
  if (long !== undefined) return command.flags[long];
  const short = /^-([^-])$/.exec(word)?.[1];
  return Object.values(command.flags).find((d) => d.short !== undefined && d.short === short);
}

/** The value given to a flag earlier on the line (`-n shop`, `--namespace=shop`). */
function valueOf(command: Command<unknown>, words: readonly string[], flag: string): string | null {
  const d = command.flags[flag];
  for (let i = 0; i < words.length - 1; i++) {
    const w = words[i] ?? '';
    if (w.startsWith(`--${flag}=`)) return w.slice(flag.length + 3);
    if ((w === `--${flag}` || (d?.short && w === `-${d.short}`)) && i + 1 < words.length - 1)
      return words[i + 1] ?? null;
  }
  return null;
}

const starting = (cur: string, all: readonly string[]): string[] =>
  all.filter((c) => c.startsWith(cur));

/** The pod argument of describe: `NAMESPACE/POD`, `pod/POD` or `POD` (with -n). */
async function podCandidates(
  command: Command<unknown>,
  words: readonly string[],
  cur: string,
  source: NameSource,
): Promise<string[]> {
  const namespace = valueOf(command, words, 'namespace');
  const kind = /^(pods?|po)\//.exec(cur)?.[0];
  if (namespace !== null || kind !== undefined) {
    const pods = (await source.reports(namespace)).map((r) => r.slice(r.indexOf('/') + 1));
    return starting(
      cur,
      pods.map((p) => `${kind ?? ''}${p}`),
    );
  }
  if (!cur.includes('/'))
    return starting(
      cur,
      (await source.namespaces()).map((n) => `${n}/`),
    );
  return starting(cur, await source.reports(cur.slice(0, cur.indexOf('/'))));
}

/** The value of a flag of the command: its few values, files, namespaces, or nothing. */
async function flagValue(flag: FlagDef, cur: string, source: NameSource): Promise<Completion> {
  if (flag.values) return { candidates: starting(cur, flag.values), directive: NO_FILES };
  if (flag.completes === 'file') return { candidates: [], directive: FILES };
  if (flag.completes === 'namespace')
    return { candidates: starting(cur, await source.namespaces()), directive: NO_FILES };
  return { candidates: [], directive: NO_FILES };
}

/** A positional argument: a pod of describe, the verb of netns, the shell of completion. */
async function positional(
  command: Command<unknown>,
  words: readonly string[],
  source: NameSource,
): Promise<readonly string[]> {
  const cur = words.at(-1) ?? '';
  const before = words.slice(1, -1).filter((w) => !w.startsWith('-')).length;
  if (command.name === 'describe') return podCandidates(command, words, cur, source);
  if (command.name === 'netns' && before === 0) return starting(cur, ['link', 'unlink']);
  if (command.name === 'completion' && before === 0) return starting(cur, SHELLS);
  return [];
}

/** What completes the last of `words` (the words after `nsreport`). */
export async function complete(words: readonly string[], source: NameSource): Promise<Completion> {
  const cur = words.at(-1) ?? '';
  const name = words[0] ?? '';
  if (words.length <= 1 || (name === 'help' && words.length === 2)) {
    const all = [...COMMANDS.map((c) => c.name), 'help'];
    return { candidates: starting(cur, all), directive: NO_FILES };
  }
  const command = COMMANDS.find((c) => c.name === name);
  if (command === undefined) return { candidates: [], directive: NO_FILES };
  const prev = flagOf(command, words.at(-2) ?? '');
  if (prev?.type === 'string') return flagValue(prev, cur, source);
  const candidates = cur.startsWith('-')
    ? starting(cur, names(command.flags))
    : await positional(command, words, source);
  return { candidates, directive: NO_FILES };
}

/** The line a shell reads: one candidate a line, then `:DIRECTIVE`. */
export function answer(c: Completion): string {
  return [...c.candidates, `:${c.directive}`].join('\n') + '\n';
}

/** Names from the kubeconfig the words name (or kubectl's default), within a few seconds. */
async function clusterNames(words: readonly string[]): Promise<NameSource> {
  const pick = (flag: string): string | null => {
    const i = words.findIndex((w) => w === `--${flag}` || w.startsWith(`--${flag}=`));
    if (i < 0) return null;
    const w = words[i] ?? '';
    return w.includes('=') ? w.slice(w.indexOf('=') + 1) : (words[i + 1] ?? null);
  };
  const { connectNameReader } = await import('../k8s/cluster.js');
  const quiet = async (fn: () => Promise<string[]>): Promise<string[]> => {
    try {
      return await fn();
    } catch {
      return []; // A completion says nothing when the cluster does not answer.
    }
  };
  let reader: Awaited<ReturnType<typeof connectNameReader>> | null = null;
  const connected = async (): Promise<NonNullable<typeof reader>> => {
    reader ??= await connectNameReader({
      kubeconfig: pick('kubeconfig'),
      context: pick('context'),
      timeoutMs: 5000,
    });
    return reader;
  };
  return {
    namespaces: () => quiet(async () => (await connected()).namespaces()),
    reports: (namespace) => quiet(async () => (await connected()).reports(namespace)),
  };
}

/** `nsreport __complete WORD…`. */
export async function runComplete(config: CompleteConfig, io: CliIO): Promise<number> {
  io.stdout(answer(await complete(config.words, await clusterNames(config.words))));
  return EXIT_OK;
}

/**
 * The scripts. Each asks `nsreport __complete` with the words up to the cursor, offers the
 * candidates (the last line is the directive), and falls back to files only when told.
 */
const SCRIPTS: Readonly<Record<Shell, string>> = {
  bash: `# bash completion for nsreport: source <(nsreport completion bash)
_nsreport() {
  local cur=\${COMP_WORDS[COMP_CWORD]} out directive
  out=$("\${COMP_WORDS[0]}" __complete "\${COMP_WORDS[@]:1:COMP_CWORD}" 2>/dev/null) || return 0
  directive=\${out##*:}
  out=\${out%:*}
  local IFS=$'\\n'
  COMPREPLY=($(compgen -W "$out" -- "$cur"))
  if [ \${#COMPREPLY[@]} -eq 0 ] && [ $((directive & ${NO_FILES})) -eq 0 ]; then
    COMPREPLY=($(compgen -f -- "$cur"))
  fi
  [[ \${COMPREPLY[0]-} == */ ]] && compopt -o nospace 2>/dev/null
  return 0
}
complete -F _nsreport nsreport
`,
  zsh: `#compdef nsreport
# zsh completion for nsreport: nsreport completion zsh > "\${fpath[1]}/_nsreport"
_nsreport() {
  local -a lines candidates
  local directive
  lines=("\${(@f)$("\${words[1]}" __complete "\${(@)words[2,CURRENT]}" 2>/dev/null)}")
  directive=\${lines[-1]#:}
  candidates=("\${(@)lines[1,-2]}")
  if (( \${#candidates} )); then
    compadd -S '' -- "\${(@)candidates:#*[^/]}"
    compadd -- "\${(@M)candidates:#*[^/]}"
  elif (( (directive & ${NO_FILES}) == 0 )); then
    _files
  fi
}
if [ "$funcstack[1]" = "_nsreport" ]; then _nsreport "$@"; else compdef _nsreport nsreport; fi
`,
  fish: `# fish completion for nsreport: nsreport completion fish > ~/.config/fish/completions/nsreport.fish
function __nsreport_complete
    set -l words (commandline -opc)
    set -e words[1]
    set -a words (commandline -ct)
    set -l out (nsreport __complete $words 2>/dev/null)
    set -l directive (string replace ':' '' -- $out[-1])
    if test (count $out) -gt 1
        printf '%s\\n' $out[1..-2]
    else if test (math "bitand($directive, ${NO_FILES})") -eq 0
        __fish_complete_path (commandline -ct)
    end
end
complete -c nsreport -f -a '(__nsreport_complete)'
`,
};

/** `nsreport completion SHELL`. */
export function runCompletion(config: CompletionConfig, io: CliIO): number {
  io.stdout(SCRIPTS[config.shell]);
  return EXIT_OK;
}
