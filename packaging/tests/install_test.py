#!/usr/bin/python3
"""sockspec installed like a tool: the install tree in a scratch DESTDIR, the installed binary
run from there against a reference server, the man page and bash completion against --help,
and the Debian package checked with dpkg-deb and lintian.

Environment (set by ctest): SOCKSPEC (the built binary), SOCKSPEC_BUILD (its build tree),
SOCKSPEC_SCENARIOS_SRC (the repository's scenarios/), SOCKSPEC_SCRATCH (a folder to use).
"""
import json
import os
import pathlib
import re
import shutil
import subprocess
import unittest

BUILD = os.environ["SOCKSPEC_BUILD"]
BUILT = os.environ["SOCKSPEC"]
SCENARIOS = pathlib.Path(os.environ["SOCKSPEC_SCENARIOS_SRC"])
SCRATCH = pathlib.Path(os.environ["SOCKSPEC_SCRATCH"])
DEST = SCRATCH / "destdir"
PREFIX = DEST / "usr"
INSTALLED = PREFIX / "bin" / "sockspec"
# The sanitized test build leaks nothing we care about at exit; keep its output clean.
ENV = {k: v for k, v in os.environ.items() if k != "SOCKSPEC_SCENARIOS"}
ENV["ASAN_OPTIONS"] = "detect_leaks=0"


def sh(*args, **kw):
    kw.setdefault("timeout", 300)
    kw.setdefault("env", ENV)
    return subprocess.run(args, capture_output=True, text=True, **kw)


def long_options(command):
    """Every long option `sockspec COMMAND --help` lists."""
    text = sh(BUILT, command, "--help").stdout
    return sorted(set(re.findall(r"^  (?:-\w \[ )?--([\w-]+)", text, re.M)))


def commands():
    """The commands `sockspec --help` lists."""
    text = sh(BUILT, "--help").stdout
    block = text[text.index("commands:\n"):].split("\n\n")[0]
    return re.findall(r"^  ([a-z]+) ", block, re.M)


COMMANDS = commands()


def setUpModule():
    shutil.rmtree(SCRATCH, ignore_errors=True)
    SCRATCH.mkdir(parents=True)
    r = sh("cmake", "--install", BUILD, "--prefix", "/usr", env=dict(ENV, DESTDIR=str(DEST)))
    assert r.returncode == 0, r.stdout + r.stderr


class InstallTree(unittest.TestCase):
    def test_everything_lands_under_the_prefix(self):
        self.assertTrue(os.access(INSTALLED, os.X_OK))
        share = PREFIX / "share" / "sockspec"
        for folder in ("suites", "load", "schema", "examples"):
            shipped = sorted(p.name for p in (SCENARIOS / folder).glob("*.json"))
            self.assertTrue(shipped)
            self.assertEqual(sorted(p.name for p in (share / folder).glob("*.json")), shipped)
        for f in ("man/man1/sockspec.1.gz", "bash-completion/completions/sockspec",
                  "doc/sockspec/README.md", "doc/sockspec/copyright",
                  "doc/sockspec/changelog.gz", "doc/sockspec/docs/scenario-format.md"):
            self.assertTrue((PREFIX / "share" / f).is_file(), f)

    def test_version(self):
        r = sh(str(INSTALLED), "--version")
        self.assertEqual(r.returncode, 0)
        self.assertRegex(r.stdout, r"^sockspec \d+\.\d+\.\d+\n$")

    def test_installed_binary_runs_its_own_suites_against_a_reference_server(self):
        report = SCRATCH / "report.json"
        r = sh(str(INSTALLED), "run", "--target", "builtin:echo", "--report-json", str(report),
               cwd=SCRATCH)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        suites = json.loads(report.read_text())["suites"]
        self.assertTrue(suites)
        for s in suites:  # the installed copies, not the source tree
            self.assertTrue(s["file"].startswith(str(PREFIX / "share" / "sockspec") + "/"),
                            s["file"])


class ManPage(unittest.TestCase):
    def test_renders_and_lists_every_option_of_every_command(self):
        r = sh("man", "-l", "-Tutf8", str(PREFIX / "share/man/man1/sockspec.1.gz"),
               env=dict(ENV, MANWIDTH="200"))
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stderr, "")  # man's warnings about the roff itself
        text = re.sub(".\b", "", r.stdout)  # bold and underline as overstrikes
        text = text.replace("\u2010", "-").replace("\u2212", "-")
        for command in COMMANDS:
            self.assertRegex(text, rf"\n{command.upper()}\n")
            for opt in long_options(command):
                self.assertIn(f"--{opt}", text, f"{command} --{opt}")
        self.assertIn("truncate-1024", text)  # the serve catalogue


class Completion(unittest.TestCase):
    SCRIPT = PREFIX / "share/bash-completion/completions/sockspec"

    def complete(self, *words, cwd=None):
        """What the completion offers for the last of `words` (as bash splits them)."""
        arr = " ".join("'" + w.replace("'", "'\\''") + "'" for w in ("sockspec", *words))
        script = (f"source '{self.SCRIPT}'; COMP_WORDS=({arr}); "
                  f"COMP_CWORD=$((${{#COMP_WORDS[@]}}-1)); _sockspec; "
                  "printf '%s\\n' \"${COMPREPLY[@]}\"")
        r = sh("bash", "--norc", "-c", script, cwd=cwd)
        self.assertEqual(r.returncode, 0, r.stderr)
        return [w for w in r.stdout.splitlines() if w]

    def test_syntax(self):
        self.assertIn("run", COMMANDS)
        self.assertGreaterEqual(len(COMMANDS), 7)
        r = sh("bash", "-n", str(self.SCRIPT))
        self.assertEqual(r.returncode, 0, r.stderr)

    def test_commands_options_services_faults_and_files(self):
        self.assertEqual(self.complete("r"), [c for c in COMMANDS if c.startswith("r")])
        self.assertEqual(self.complete("va"), ["validate"])
        self.assertEqual(sorted(self.complete("run", "--ta")), ["--tag", "--target"])
        self.assertIn("--tls-ca", self.complete("run", "--tls"))
        self.assertIn("builtin:upper", self.complete("run", "--target", "bui"))
        self.assertEqual(self.complete("run", "--target", "builtin", ":", "ec"), ["echo"])
        self.assertEqual(self.complete("serve", "--fault", "trunc"), ["truncate-1024"])
        self.assertEqual(self.complete("serve", "da"), ["daytime"])
        self.assertEqual(self.complete("serve", "--transport", ""), ["tcp", "udp", "both"])
        self.assertEqual(self.complete("validate", "suites/echo-t", cwd=SCENARIOS),
                         ["suites/echo-tcp.json"])

    def test_every_option_of_every_command_completes(self):
        for command in COMMANDS:
            offered = self.complete(command, "--")
            for opt in long_options(command):
                self.assertIn(f"--{opt}", offered, command)


class DebianPackage(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        out = SCRATCH / "deb"
        r = sh("cpack", "--config", os.path.join(BUILD, "CPackConfig.cmake"), "-B", str(out))
        assert r.returncode == 0, r.stdout + r.stderr
        debs = sorted(out.glob("sockspec_*.deb"))
        assert len(debs) == 1, debs
        cls.deb = str(debs[0])

    def test_control_fields(self):
        r = sh("dpkg-deb", "--field", self.deb)
        self.assertEqual(r.returncode, 0, r.stderr)
        fields = dict(re.findall(r"^([\w-]+): (.*)$", r.stdout, re.M))
        self.assertEqual(fields["Package"], "sockspec")
        self.assertEqual(fields["Section"], "devel")
        self.assertEqual(fields["Version"], sh(BUILT, "--version").stdout.split()[1])
        for lib in ("libboost-program-options", "libc6", "libstdc++6", "libprometheus-cpp-push",
                    "libcivetweb", "libssl3"):
            self.assertIn(lib, fields["Depends"])
        self.assertIn("bash-completion", fields["Recommends"])
        self.assertIn("TCP and UDP", fields["Description"])

    def test_contents(self):
        r = sh("dpkg-deb", "--contents", self.deb)
        self.assertEqual(r.returncode, 0, r.stderr)
        for path in ("./usr/bin/sockspec", "./usr/share/sockspec/suites/echo-tcp.json",
                     "./usr/share/sockspec/schema/scenario-v1.schema.json",
                     "./usr/share/man/man1/sockspec.1.gz",
                     "./usr/share/bash-completion/completions/sockspec",
                     "./usr/share/doc/sockspec/copyright"):
            self.assertRegex(r.stdout, rf"\s{re.escape(path)}\n")

    def test_copyright_is_apache_2_0(self):
        # The package says what the repository's LICENSE says, in Debian's machine-readable form.
        r = subprocess.run(["dpkg-deb", "--fsys-tarfile", self.deb], capture_output=True, check=True)
        x = subprocess.run(["tar", "-xO", "./usr/share/doc/sockspec/copyright"], input=r.stdout,
                           capture_output=True, check=True)
        text = x.stdout.decode()
        self.assertRegex(text, r"(?m)^License: Apache-2\.0$")
        self.assertNotIn("all-rights-reserved", text)
        self.assertIn("/usr/share/common-licenses/Apache-2.0", text)
        license_file = SCENARIOS.parent / "LICENSE"
        self.assertIn("Apache License", license_file.read_text())
        self.assertIn("Version 2.0", license_file.read_text())

    def test_lintian_finds_no_errors(self):
        r = sh("lintian", "--tag-display-limit", "0", self.deb)
        self.assertNotIn("\nE: ", "\n" + r.stdout, r.stdout)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)


if __name__ == "__main__":
    unittest.main(verbosity=2)
