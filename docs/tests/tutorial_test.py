#!/usr/bin/python3
"""The tutorials (docs/tutorial.md and its Chinese translation docs/tutorial.zh.md), run as a
reader would: every file they show is the file in docs/tutorial/, and every `$ command` in a
console block is run in a fresh copy of that folder, its output compared with the output the
page shows.

What may differ: times, ports and seeds (the machine picks them); a line `...` in the page
stands for any number of lines left out; in `sockspec load` output every figure is a
measurement, so numbers are compared as N (the PASS/FAIL of each threshold still is compared).
Commands use /usr/share/sockspec as an installed sockspec does; here that is the repository's
scenarios/ folder.

Environment (set by ctest): SOCKSPEC, SOCKSPEC_ROOT, SOCKSPEC_SCRATCH.
SOCKSPEC_TUTORIAL_SHOW=1 prints each command's actual output (to write the page).
"""
import os
import pathlib
import re
import shutil
import subprocess
import unittest

SOCKSPEC = os.environ["SOCKSPEC"]
ROOT = pathlib.Path(os.environ["SOCKSPEC_ROOT"])
SCRATCH = pathlib.Path(os.environ["SOCKSPEC_SCRATCH"])
FILES = ROOT / "docs" / "tutorial"
INSTALLED = "/usr/share/sockspec"
PAGES = ("tutorial.md", "tutorial.zh.md")


def parse(page):
    """([(file name, shown text)], [(command, expected output)]) of one page."""
    files, commands = [], []
    lines = (ROOT / "docs" / page).read_text().splitlines()
    i, pending_file = 0, None
    while i < len(lines):
        line = lines[i]
        m = re.match(r"<!-- file: (\S+) -->$", line)
        if m:
            pending_file = m.group(1)
        elif line.startswith("```"):
            lang = line[3:].strip()
            j = lines.index("```", i + 1)
            body = lines[i + 1:j]
            if pending_file:
                files.append((pending_file, "\n".join(body) + "\n"))
                pending_file = None
            elif lang == "console":
                for b in body:
                    if b.startswith("$ "):
                        commands.append([b[2:], []])
                    else:
                        assert commands, f"{page}: output before any command: {b}"
                        commands[-1][1].append(b)
            i = j
        i += 1
    return files, [(c, "\n".join(out)) for c, out in commands]


def normalize(text, measured):
    text = re.sub(r"127\.0\.0\.1:\d+", "127.0.0.1:PORT", text)
    text = re.sub(r"\d+(\.\d+)?(us|µs|ms|s)\)", "T)", text)
    text = re.sub(r" in \d+(\.\d+)?(us|µs|ms|s) ", " in T ", text)
    text = re.sub(r"seed \d+", "seed N", text)
    text = re.sub(r"--seed \d+", "--seed N", text)
    if measured:  # durations in whatever unit fits them, then every other figure
        text = re.sub(r"\d+(\.\d+)? ?(ns|us|µs|ms|s)\b", "T", text)
        text = re.sub(r"\d+(\.\d+)?", "N", text)
    return "\n".join(l.rstrip() for l in text.strip("\n").splitlines())


def matches(expected, actual):
    pattern = "".join(r"(?:[^\n]*\n)*?" if l == "..." else re.escape(l) + r"\n"
                      for l in expected.splitlines())
    return re.fullmatch(pattern, actual + "\n") is not None


class Tutorial(unittest.TestCase):
    def check_page(self, page):
        files, commands = parse(page)
        self.assertGreaterEqual(len(files), 5)
        self.assertGreaterEqual(len(commands), 6)
        for name, shown in files:
            with self.subTest(page=page, file=name):
                self.assertEqual(shown, (FILES / name).read_text())
        work = SCRATCH / page
        shutil.rmtree(work, ignore_errors=True)
        shutil.copytree(FILES, work)
        env = dict(os.environ, ASAN_OPTIONS="detect_leaks=0")
        env["PATH"] = os.path.dirname(SOCKSPEC) + os.pathsep + env["PATH"]
        env.pop("NO_COLOR", None)
        scenarios = str(ROOT / "scenarios")
        for command, expected in commands:
            with self.subTest(page=page, command=command):
                r = subprocess.run(["bash", "-c", command.replace(INSTALLED, scenarios)],
                                   cwd=work, env=env, capture_output=True, text=True, timeout=300)
                actual = (r.stdout + r.stderr).replace(scenarios, INSTALLED)
                measured = command.startswith("sockspec load")
                if os.environ.get("SOCKSPEC_TUTORIAL_SHOW"):
                    print(f"$ {command}\n{actual}")
                want, got = normalize(expected, measured), normalize(actual, measured)
                self.assertTrue(matches(want, got),
                                f"\n--- shown ---\n{want}\n--- produced ---\n{got}")

    def test_english(self):
        self.check_page("tutorial.md")

    def test_chinese(self):
        self.check_page("tutorial.zh.md")

    def test_both_pages_show_the_same_files_and_commands(self):
        en, zh = parse("tutorial.md"), parse("tutorial.zh.md")
        self.assertEqual([f for f, _ in en[0]], [f for f, _ in zh[0]])
        self.assertEqual(en[1], zh[1])

    def test_every_tutorial_file_is_shown(self):
        shown = {f for f, _ in parse("tutorial.md")[0]}
        self.assertEqual(shown, {p.name for p in FILES.iterdir()})


if __name__ == "__main__":
    unittest.main(verbosity=2)
