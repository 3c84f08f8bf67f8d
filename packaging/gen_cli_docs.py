#!/usr/bin/python3
"""Writes the man page and the bash completion of sockspec from its own --help output.

Usage: gen_cli_docs.py SOCKSPEC OUT_DIR

Both are generated from what `sockspec --help` and `sockspec COMMAND --help` print, which is
Boost.Program_options rendering the option definitions the commands parse with: an option
added to a command appears in --help, the man page and the completion at the next build,
with nothing else to edit. Writes OUT_DIR/sockspec.1 and OUT_DIR/sockspec.bash-completion.
"""
import datetime
import os
import re
import subprocess
import sys

# `  -t [ --target ] arg   HOST:PORT ...`, `  --strict    a failed ...`, `  --port arg (=0)  ...`
OPTION = re.compile(r"^  (?:-(\w) \[ --([\w-]+) \]|--([\w-]+))( arg(?: \(=[^)]*\))?)?(?:\s+(.*))?$")


def help_of(exe, *args):
    r = subprocess.run([exe, *args, "--help"], capture_output=True, text=True, timeout=60)
    if r.returncode != 0:
        sys.exit(f"gen_cli_docs: `{exe} {' '.join(args)} --help` exited {r.returncode}: {r.stderr}")
    return r.stdout


def parse_top(text):
    """The commands and their one-line summaries, from the `commands:` block."""
    commands, inside = [], False
    for line in text.splitlines():
        if line == "commands:":
            inside = True
        elif inside and not line.strip():
            break
        elif inside and (m := re.match(r"^  ([a-z]+)\s+(.*)$", line)):
            commands.append((m.group(1), m.group(2)))
    if not commands:
        sys.exit("gen_cli_docs: no `commands:` block in sockspec --help")
    return commands


def parse_command(text):
    """usage line, description paragraphs, options [(short, long, takes_arg, default, doc)],
    and the text after the options (the serve catalogue)."""
    lines = text.splitlines()
    usage = lines[0].removeprefix("usage: ")
    at = lines.index("options:")
    description = "\n".join(lines[1:at]).strip()
    options, i = [], at + 1
    while i < len(lines) and lines[i].strip():
        m = OPTION.match(lines[i])
        if m:
            short, long_ = m.group(1), m.group(2) or m.group(3)
            arg = m.group(4) or ""
            default = re.search(r"\(=([^)]*)\)", arg)
            options.append([short, long_, bool(arg), default.group(1) if default else None,
                            (m.group(5) or "").strip()])
        elif options:  # a wrapped description
            options[-1][4] = re.sub(r"\s+", " ", options[-1][4] + " " + lines[i].strip())
        i += 1
    return usage, description, options, "\n".join(lines[i:]).strip()


def catalogue(text, header):
    """Names listed under a `header` line of serve --help (services, faults)."""
    names, inside = [], False
    for line in text.splitlines():
        if line.startswith(header):
            inside = True
        elif inside and not line.strip():
            break
        elif inside and (m := re.match(r"^  ([a-z0-9-]+)(\s|$)", line)):
            names.append(m.group(1))
    return names


def roff(text):
    text = text.replace("\\", "\\e").replace("-", "\\-")
    return "\n".join(("\\&" + l if l.startswith((".", "'")) else l) for l in text.splitlines())


def man_page(version, top, commands, services, faults):
    epoch = os.environ.get("SOURCE_DATE_EPOCH")  # reproducible builds set it
    date = (datetime.datetime.fromtimestamp(int(epoch), datetime.timezone.utc) if epoch
            else datetime.datetime.now(datetime.timezone.utc))
    out = [f'.TH SOCKSPEC 1 "{date:%Y-%m-%d}" "sockspec {version}" "User Commands"',
           ".SH NAME", "sockspec \\- check TCP and UDP servers against JSON scenarios",
           ".SH SYNOPSIS"]
    for name, _ in top:
        out += [".B sockspec " + name, ".RI [ options ]", ".br"]
    out += [".B sockspec \\-\\-version", ".br", ".B sockspec \\-\\-help"]
    out += [".SH DESCRIPTION",
            roff("sockspec runs protocol-conformance suites and load profiles, written as JSON "
                 "scenarios, against a TCP or UDP server, and reports a verdict for every case "
                 "(console, JSON, JUnit, HTML, Markdown)."),
            ".SH COMMANDS"]
    for name, summary in top:
        out += [".TP", f".B {name}", roff(summary)]
    for name, _ in top:
        usage, description, options, extra = commands[name]
        out += [f".SH {name.upper()}", ".nf", roff(usage), ".fi", ".PP",
                roff(description.replace("\n\n", "\n.PP\n"))]
        for short, long_, takes, default, doc in options:
            flag = (f"\\fB\\-{short}\\fR, " if short else "") + f"\\fB\\-\\-{roff(long_)}\\fR"
            if takes:
                flag += " \\fIARG\\fR"
            out += [".TP", flag, roff(doc + (f" (default: {default})" if default else ""))]
        if extra:
            out += [".PP", ".nf", roff(extra), ".fi"]
    out += [".SH EXIT STATUS",
            ".TP", "0", "all good (warnings and skips allowed)",
            ".TP", "1", "a failure, error, xpass or failed threshold",
            ".TP", "2", "bad usage, or an invalid scenario or profile",
            ".TP", "3", "the target could not be reached or the managed server did not start",
            ".SH FILES",
            ".TP", ".I PREFIX/share/sockspec/suites",
            roff("the built-in suites, run by `sockspec run --target builtin:SERVICE`"),
            ".TP", ".I PREFIX/share/sockspec/load", "load profiles",
            ".TP", ".I PREFIX/share/sockspec/schema",
            roff("the JSON Schemas (name one with \"$schema\" for completion in an editor)"),
            ".SH ENVIRONMENT",
            ".TP", ".B SOCKSPEC_SCENARIOS", roff("a folder to use instead of the built-in suites"),
            ".TP", ".B NO_COLOR", "no colours in the console output",
            ".SH SEE ALSO",
            roff("PREFIX/share/doc/sockspec/ (scenario format, load, reports, tutorial, CI)")]
    return "\n".join(out) + "\n"


def completion(top, commands, services, faults):
    """A bash completion function: commands, each command's options, builtin:SERVICE for
    --target, fault names, service names for serve, file names elsewhere."""
    case_opts, case_args = [], []
    for name, _ in top:
        _, _, options, _ = commands[name]
        words = []
        for short, long_, takes, _, _ in options:
            words.append("--" + long_)
            if short:
                words.append("-" + short)
        case_opts.append(f"    {name}) opts='{' '.join(words)}' ;;")
        flags = [f"--{o[1]}" for o in options if o[2]] + [f"-{o[0]}" for o in options if o[2] and o[0]]
        if flags:
            case_args.append(f"    {name}) takes='{' '.join(flags)}' ;;")
    targets = " ".join("builtin:" + s for s in services)
    return f"""# bash completion for sockspec; generated from `sockspec ... --help` by gen_cli_docs.py.
_sockspec() {{
  local cur=${{COMP_WORDS[COMP_CWORD]}} prev=${{COMP_WORDS[COMP_CWORD-1]}}
  local commands='{' '.join(n for n, _ in top)}'
  local services='{' '.join(services)}' faults='{' '.join(faults)}'
  COMPREPLY=()
  # bash splits builtin:SERVICE at the colon (COMP_WORDBREAKS): complete the part after it.
  if [ "$prev" = : ] && [ "${{COMP_WORDS[COMP_CWORD-2]}}" = builtin ]; then
    COMPREPLY=($(compgen -W "$services" -- "$cur"))
    return 0
  elif [ "$cur" = : ] && [ "$prev" = builtin ]; then
    COMPREPLY=($(compgen -W "$services"))
    return 0
  fi
  if [ "$COMP_CWORD" -eq 1 ]; then
    COMPREPLY=($(compgen -W "$commands --help --version" -- "$cur"))
    return 0
  fi
  local cmd=${{COMP_WORDS[1]}} opts='' takes=''
  case "$cmd" in
{chr(10).join(case_opts)}
    *) return 0 ;;
  esac
  case "$cmd" in
{chr(10).join(case_args)}
  esac
  case " $takes " in
    *" $prev "*)
      case "$prev" in
        --target|-t) COMPREPLY=($(compgen -W '{targets}' -- "$cur")) ;;
        --fault) COMPREPLY=($(compgen -W "$faults" -- "$cur")) ;;
        --transport) COMPREPLY=($(compgen -W 'tcp udp both' -- "$cur")) ;;
        --out) COMPREPLY=($(compgen -d -- "$cur")) ;;
        *) COMPREPLY=($(compgen -f -- "$cur")) ;;
      esac
      return 0 ;;
  esac
  if [[ "$cur" == -* ]]; then
    COMPREPLY=($(compgen -W "$opts" -- "$cur"))
  elif [ "$cmd" = serve ]; then
    COMPREPLY=($(compgen -W "$services" -- "$cur"))
  else
    COMPREPLY=($(compgen -f -- "$cur"))
  fi
  return 0
}}
complete -o filenames -o bashdefault -F _sockspec sockspec
"""


def main():
    exe, out_dir = sys.argv[1], sys.argv[2]
    version = subprocess.run([exe, "--version"], capture_output=True, text=True,
                             check=True).stdout.split()[-1]
    top = parse_top(help_of(exe))
    commands = {name: parse_command(help_of(exe, name)) for name, _ in top}
    serve_help = help_of(exe, "serve")
    services, faults = catalogue(serve_help, "services:"), catalogue(serve_help, "faults")
    if not services or not faults:
        sys.exit("gen_cli_docs: no services or faults listed by sockspec serve --help")
    os.makedirs(out_dir, exist_ok=True)
    with open(os.path.join(out_dir, "sockspec.1"), "w") as f:
        f.write(man_page(version, top, commands, services, faults))
    with open(os.path.join(out_dir, "sockspec.bash-completion"), "w") as f:
        f.write(completion(top, commands, services, faults))


if __name__ == "__main__":
    main()
