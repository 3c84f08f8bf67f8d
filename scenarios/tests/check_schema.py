#!/usr/bin/python3
"""Every scenario file validates against the JSON Schema, and known-bad files do not.

Usage: check_schema.py SCENARIOS_DIR
"""
import json
import pathlib
import sys
import unittest

import jsonschema

ROOT = pathlib.Path(sys.argv.pop(1) if len(sys.argv) > 1 else ".")
SCHEMA = json.loads((ROOT / "schema" / "scenario-v1.schema.json").read_text())
PROFILE_SCHEMA = json.loads((ROOT / "schema" / "load-profile-v1.schema.json").read_text())


def suite_files():
    return sorted(p for p in ROOT.rglob("*.json") if "schema" not in p.parts and "load" not in p.parts)


class Schema(unittest.TestCase):
    def test_the_schema_itself_is_valid_draft7(self):
        jsonschema.Draft7Validator.check_schema(SCHEMA)

    def test_every_scenario_file_validates(self):
        files = suite_files()
        self.assertTrue(files, "no scenario files found")
        for f in files:
            with self.subTest(file=str(f)):
                jsonschema.validate(json.loads(f.read_text()), SCHEMA)

    def test_every_load_profile_validates(self):
        jsonschema.Draft7Validator.check_schema(PROFILE_SCHEMA)
        files = sorted((ROOT / "load").glob("*.json"))
        self.assertTrue(files, "no load profiles found")
        for f in files:
            with self.subTest(file=str(f)):
                jsonschema.validate(json.loads(f.read_text()), PROFILE_SCHEMA)
        bad = json.loads(files[0].read_text())
        bad["executor"] = {"type": "constant-rate"}  # no rate
        with self.assertRaises(jsonschema.ValidationError):
            jsonschema.validate(bad, PROFILE_SCHEMA)
        bad = json.loads(files[0].read_text())
        bad["thresholds"] = ["p99 below 2ms"]
        with self.assertRaises(jsonschema.ValidationError):
            jsonschema.validate(bad, PROFILE_SCHEMA)

    def test_the_schema_rejects_what_the_format_forbids(self):
        good_step = {"op": "send", "conn": "c", "text": "x"}
        bad = {
            "unknown key": {"op": "send", "conn": "c", "text": "x", "tiemout_ms": 1},
            "two payloads": {"op": "send", "conn": "c", "text": "x", "hex": "00"},
            "no payload": {"op": "send", "conn": "c"},
            "unknown op": {"op": "conect", "conn": "c"},
            "bad fill pattern": {"op": "send", "conn": "c", "fill": {"bytes": 1, "pattern": "stripes"}},
            "negative timeout": {"op": "send", "conn": "c", "text": "x", "timeout_ms": -5},
            "bad shutdown": {"op": "shutdown", "conn": "c", "how": "sideways"},
            "two kinds in one part": {"op": "send", "conn": "c", "parts": [{"u8": 1, "u16": 2}]},
            "unknown part kind": {"op": "send", "conn": "c", "parts": [{"u24": 1}]},
            "bad checksum name": {"op": "send", "conn": "c", "parts": [{"u32": {"checksum": "md5", "of": "b"}}]},
            "parts and text": {"op": "send", "conn": "c", "text": "x", "parts": [{"u8": 1}]},
            "frame with two kinds": {"op": "connect", "conn": "c", "frame": {"fixed": 2, "delimiter": "\n"}},
            "bad frame width": {"op": "connect", "conn": "c", "frame": {"length": {"width": 3}}},
        }
        for good in [{"op": "send", "conn": "c", "parts": [{"u16": {"length_of": "b"}}, {"name": "b", "parts": [{"hex": "00 ${x} ff"}]}]},
                     {"op": "expect", "conn": "c", "frame": {"varint": {"offset": 1, "format": "mqtt"}},
                      "parts": [{"u8": {"mask": 240, "value": 32}}, {"varint": {"any": True}, "format": "mqtt"}, {"rest": True, "capture": "b"}]},
                     {"op": "accept", "conn": "l", "as": "a", "frame": {"delimiter": "\r\n"}}]:
            wrap1 = {"format": 1, "suite": "s", "cases": [{"id": "a", "steps": [good]}]}
            jsonschema.validate(wrap1, SCHEMA)
        wrap = lambda step: {"format": 1, "suite": "s", "cases": [{"id": "a", "steps": [step]}]}
        jsonschema.validate(wrap(good_step), SCHEMA)
        for why, step in bad.items():
            with self.subTest(why=why):
                with self.assertRaises(jsonschema.ValidationError):
                    jsonschema.validate(wrap(step), SCHEMA)
        with self.assertRaises(jsonschema.ValidationError):
            jsonschema.validate({"format": 2, "suite": "s", "cases": []}, SCHEMA)
        jsonschema.validate({"format": 1, "suite": "s", "x-any": 1, "cases": [{"id": "a", "steps": [dict(good_step, **{"x-note": 2})]}]}, SCHEMA)

    def test_issue_21_variable_keys_are_accepted_in_both_schemas(self):
        sleep = [{"op": "sleep", "ms": 1}]
        good = [
            {"op": "set", "values": {"next": "${block} + 1", "zero": 0}},
            {"op": "repeat", "until": "len(${data}) < 512", "max": 100, "steps": sleep},
            {"op": "repeat", "times": 3, "steps": sleep},
            {"op": "expect", "conn": "u", "from": "any", "capture_from": "peer", "length": 4},
            {"op": "expect", "conn": "c", "regex": "x", "bytes": "${len} + 2"},
            {"op": "expect", "conn": "c", "length": "${n}"},
        ]
        bad = {
            "set without values": {"op": "set"},
            "set of a built-in": {"op": "set", "values": {"i": 1}},
            "until without max": {"op": "repeat", "until": "1", "steps": sleep},
            "times and until": {"op": "repeat", "times": 2, "until": "1", "max": 2, "steps": sleep},
            "max without until": {"op": "repeat", "times": 2, "max": 2, "steps": sleep},
            "capture_from a built-in": {"op": "expect", "conn": "u", "capture_from": "seed",
                                        "length": 1},
        }
        suite = lambda step: {"format": 1, "suite": "s", "cases": [{"id": "a", "steps": [step]}]}
        profile = lambda step: {"format": 1, "profile": "p", "executor": {"type": "closed", "vus": 1},
                                "iteration": [step]}
        for wrap, schema in [(suite, SCHEMA), (profile, PROFILE_SCHEMA)]:
            for step in good:
                jsonschema.validate(wrap(step), schema)
            for why, step in bad.items():
                with self.subTest(why=why):
                    with self.assertRaises(jsonschema.ValidationError):
                        jsonschema.validate(wrap(step), schema)

    def test_every_shipped_file_names_its_schema_for_editors(self):
        for f, schema in [(f, "scenario-v1") for f in suite_files()] + [
                (f, "load-profile-v1") for f in sorted((ROOT / "load").glob("*.json"))]:
            with self.subTest(file=str(f)):
                doc = json.loads(f.read_text())
                self.assertEqual(next(iter(doc)), "$schema", "the first key, where editors look")
                target = (f.parent / doc["$schema"]).resolve()
                self.assertEqual(target, (ROOT / "schema" / f"{schema}.schema.json").resolve())

    def test_schema_key_is_allowed_at_the_top_only(self):
        step = {"op": "sleep", "ms": 1}
        jsonschema.validate({"$schema": "s.json", "format": 1, "suite": "s",
                             "cases": [{"id": "a", "steps": [step]}]}, SCHEMA)
        for nested in ({"$schema": "s.json", "id": "a", "steps": [step]},
                       {"id": "a", "steps": [dict(step, **{"$schema": "s.json"})]}):
            with self.assertRaises(jsonschema.ValidationError):
                jsonschema.validate({"format": 1, "suite": "s", "cases": [nested]}, SCHEMA)
        with self.assertRaises(jsonschema.ValidationError):
            jsonschema.validate({"$schema": 3, "format": 1, "suite": "s",
                                 "cases": [{"id": "a", "steps": [step]}]}, SCHEMA)
        profile = {"$schema": "p.json", "format": 1, "profile": "p",
                   "executor": {"type": "closed", "vus": 1}, "iteration": [step]}
        jsonschema.validate(profile, PROFILE_SCHEMA)
        profile["executor"]["$schema"] = "p.json"
        with self.assertRaises(jsonschema.ValidationError):
            jsonschema.validate(profile, PROFILE_SCHEMA)


if __name__ == "__main__":
    unittest.main(verbosity=2)
