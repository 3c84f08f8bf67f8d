#!/usr/bin/python3
"""The CI jobs in docs/ci.md, run as written: every shell command of the GitHub Actions and
GitLab CI jobs except installing sockspec and building the user's server, with the job's
SERVER_CMD and SUITES pointed at a reference server (correct, then broken) and the repository's
suites. Checks exit codes, the job summary, the annotations and the files the publishing steps
pick up.

Environment (set by ctest): SOCKSPEC, SOCKSPEC_ROOT (the repository), SOCKSPEC_SCRATCH.
"""
import os
import pathlib
import re
import shutil
import subprocess
import unittest

import yaml

SOCKSPEC = os.environ["SOCKSPEC"]
ROOT = pathlib.Path(os.environ["SOCKSPEC_ROOT"])
SCRATCH = pathlib.Path(os.environ["SOCKSPEC_SCRATCH"])
DOC = (ROOT / "docs" / "ci.md").read_text()
GITHUB, GITLAB, COMPARE = [yaml.safe_load(b) for b in re.findall(r"```yaml\n(.*?)```", DOC, re.S)]
USER_STEPS = ("Install sockspec", "Build the server")  # the parts that are the user's own


def server_cmd(fault=None):
    return f"{SOCKSPEC} serve upper --transport tcp --port {{port}}" + (
        f" --fault {fault}" if fault else "")


def shell(command, env, cwd):
    return subprocess.run(["bash", "-e", "-c", command], env=env, cwd=cwd, capture_output=True,
                          text=True, timeout=300)


def job_env(variables, fault, work):
    env = dict(os.environ, **{k: str(v) for k, v in variables.items()})
    env["PATH"] = os.path.dirname(SOCKSPEC) + os.pathsep + env["PATH"]
    env["SERVER_CMD"] = server_cmd(fault)
    env["SUITES"] = str(ROOT / "scenarios" / "suites" / pathlib.Path(variables["SUITES"]).name)
    env["ASAN_OPTIONS"] = "detect_leaks=0"
    return env


def workdir(name):
    d = SCRATCH / name
    shutil.rmtree(d, ignore_errors=True)
    d.mkdir(parents=True)
    return d


class GithubActions(unittest.TestCase):
    job = GITHUB["jobs"]["sockspec"]

    def run_job(self, fault):
        """Runs the job's `run` steps in order, honouring `if: always()` after a failure.
        Returns ({step name: CompletedProcess}, work dir, summary file)."""
        work = workdir("github-" + (fault or "ok"))
        env = job_env(self.job["env"], fault, work)
        summary = work / "step-summary.md"
        env["GITHUB_STEP_SUMMARY"] = str(summary)
        names = [s.get("name") for s in self.job["steps"]]
        for name in USER_STEPS:
            self.assertIn(name, names)
        results, failed = {}, False
        for step in self.job["steps"]:
            if "run" not in step or step["name"] in USER_STEPS:
                continue
            if failed and step.get("if") != "always()":
                continue
            results[step["name"]] = r = shell(step["run"], env, work)
            failed = failed or r.returncode != 0
        return results, work, summary

    def published_files_exist(self, work):
        for step in self.job["steps"]:
            w = step.get("with", {})
            for key in ("report_paths", "path"):
                if key in w:
                    self.assertTrue((work / w[key]).is_file(), w[key])

    def test_a_correct_server_passes_with_summary_junit_and_html(self):
        results, work, summary = self.run_job(None)
        for name, r in results.items():
            self.assertEqual(r.returncode, 0, f"{name}: {r.stdout}{r.stderr}")
        self.assertNotIn("::error", results["Conformance"].stdout)
        self.assertTrue(summary.read_text().startswith("## sockspec passed"))
        self.published_files_exist(work)

    def test_a_broken_server_fails_the_job_with_annotations_and_still_publishes(self):
        results, work, summary = self.run_job("truncate-1024")
        self.assertEqual(results["Conformance"].returncode, 1)
        self.assertRegex(results["Conformance"].stdout,
                         r"(?m)^::error file=[^,]*upper-tcp\.json,title=fail upper-tcp/")
        self.assertEqual(results["Job summary"].returncode, 0)  # if: always()
        text = summary.read_text()
        self.assertTrue(text.startswith("## sockspec FAILED"))
        self.assertIn("### Failures", text)
        self.published_files_exist(work)


class CompareWithBase(unittest.TestCase):
    """The compare job: `main` measures and keeps its reports; a pull request measures, fetches
    them (here: copied, as the download step would) and compares."""
    job = COMPARE["jobs"]["compare"]

    def step(self, name):
        return next(s for s in self.job["steps"] if s.get("name") == name)

    def env(self, work, server_cmd):
        env = dict(os.environ, **{k: str(v) for k, v in self.job["env"].items()})
        env["PATH"] = os.path.dirname(SOCKSPEC) + os.pathsep + env["PATH"]
        env["SERVER_CMD"] = server_cmd
        env["SUITES"] = str(ROOT / "scenarios" / "suites" / pathlib.Path(env["SUITES"]).name)
        env["PROFILE"] = str(ROOT / "scenarios" / "load" / pathlib.Path(env["PROFILE"]).name)
        env["RUNS"] = "2"
        env["ASAN_OPTIONS"] = "detect_leaks=0"
        env["GITHUB_STEP_SUMMARY"] = str(work / "step-summary.md")
        return env

    def test_main_keeps_its_reports_and_a_pull_request_is_compared_with_them(self):
        echo = f"{SOCKSPEC} serve echo --transport tcp --port {{port}}"
        self.assertEqual(self.step("Keep the base branch's reports")["with"]["path"], "new/")
        fetched = self.step("Fetch the base branch's reports")["with"]["path"]
        main = workdir("compare-main")
        r = shell(self.step("Measure")["run"], self.env(main, echo), main)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        # A verdict of a case is deterministic; latencies on a busy machine are not, so the
        # change that must fail the job breaks a case (latency verdicts: compare_end_to_end).
        for case, server, want in (("broken", echo + " --fault truncate-1024", 1),
                                   ("unchanged", None, 0)):
            with self.subTest(case=case):
                work = workdir("compare-" + case)
                shutil.copytree(main / "new", work / fetched)
                if server:
                    r = shell(self.step("Measure")["run"], self.env(work, server), work)
                    self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
                else:
                    shutil.copytree(main / "new", work / "new")
                env = self.env(work, echo)
                r = shell(self.step("Compare")["run"], env, work)
                self.assertEqual(r.returncode, want, r.stdout + r.stderr)
                summary = shell(self.step("Job summary")["run"], env, work)
                self.assertEqual(summary.returncode, 0)
                text = (work / "step-summary.md").read_text()
                self.assertIn("## sockspec compare", text)
                self.assertTrue((work / self.step("Comparison page")["with"]["path"]).is_file())
                if want:
                    self.assertIn("FAIL newly-failing > 0", r.stdout)
                    self.assertIn("::error title=compare%3A newly-failing > 0::", r.stdout)
                    self.assertIn("| newly failing | `echo-tcp/", text)
                else:
                    self.assertIn("every --fail-on rule held", r.stdout)


class GitlabCi(unittest.TestCase):
    job = GITLAB["conformance"]

    def test_script_and_after_script_produce_the_artifacts(self):
        for fault, want in ((None, 0), ("truncate-1024", 1)):
            with self.subTest(fault=fault):
                work = workdir("gitlab-" + (fault or "ok"))
                env = job_env(self.job["variables"], fault, work)
                codes = [shell(c, env, work).returncode for c in self.job["script"]]
                self.assertEqual(codes[-1], want)
                after = shell("\n".join(self.job["after_script"]), env, work)
                self.assertEqual(after.returncode, 0)
                self.assertIn("## sockspec", after.stdout)
                artifacts = self.job["artifacts"]
                self.assertEqual(artifacts["when"], "always")
                self.assertTrue((work / artifacts["reports"]["junit"]).is_file())
                for p in artifacts["paths"]:
                    self.assertTrue((work / p).exists(), p)


if __name__ == "__main__":
    unittest.main(verbosity=2)
