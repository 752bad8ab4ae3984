#!/usr/bin/python3
"""Checks catalog/providers.json: its schema, then what a JSON Schema cannot say (docs/providers.md).

usage: check_provider_catalog.py [CATALOG [SCHEMA]] [--today YYYY-MM-DD]
Defaults to catalog/providers.json and catalog/providers.schema.json beside this tools/ folder.
Beyond the schema: provider and region ids are unique; every region names an existing provider and its id
starts with that provider's id; a certification's regions exist and belong to its provider; every date is a
real calendar date and none is in the future (nor a source dated after it was checked); every source is an
http(s) URL or a document title, not a placeholder; templates leave operator facts to the operator; every
public cloud states where it stands on the US CLOUD Act.
Prints each problem with its JSON path, the count of sourced and unknown facts, then `N passed, M failed`
(one check per provider, per region, and one for the schema); exits 1 when anything failed.
Needs Debian's python3-jsonschema (Draft 2020-12, jsonschema >= 4).
"""
import datetime
import json
import os
import sys
from urllib.parse import urlparse

from jsonschema import Draft202012Validator
from jsonschema.exceptions import best_match

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_CATALOG = os.path.join(HERE, "..", "catalog", "providers.json")
DEFAULT_SCHEMA = os.path.join(HERE, "..", "catalog", "providers.schema.json")

# A title shorter than this, or one of these words, is a placeholder rather than a document someone can find.
MIN_TITLE_LENGTH = 12
PLACEHOLDERS = {"unknown", "todo", "tbd", "n/a", "none", "source", "internet", "web", "google", "wikipedia"}
FACT_KEYS = {"value", "source", "checked"}


def path_text(path):
    return "$" + "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in path)


def schema_problem(error):
    # A fact is "unknown" or a sourced object (oneOf): for an object, say what the sourced form lacks rather than
    # that it is not the string "unknown".
    if error.context:
        reasons = [c for c in error.context if c.validator != "const"] or [best_match(error.context)]
        # Properties a failed allOf did not evaluate are reported as unexpected too: noise beside the real cause.
        reasons = [c for c in reasons if c.validator != "unevaluatedProperties"] or reasons
        return "; ".join(f"{path_text(list(c.absolute_path))}: {c.message}" for c in reasons)
    return f"{path_text(list(error.absolute_path))}: {error.message}"


def parse_date(text):
    try:
        return datetime.date.fromisoformat(text)
    except (TypeError, ValueError):
        return None


def source_problem(source):
    """None when the source is an http(s) URL or a plausible document title, else what is wrong with it."""
    text = source.strip()
    if text.lower().startswith(("http://", "https://")):
        url = urlparse(text)
        if not url.netloc or " " in text:
            return f"source {text!r} looks like a URL but is not a valid one"
        return None
    if "://" in text.split(" ")[0]:
        return f"source {text!r} is a URL with a scheme other than http(s)"
    if text.lower() in PLACEHOLDERS or len(text) < MIN_TITLE_LENGTH:
        return f"source {text!r} is neither a URL nor a document title someone could find"
    return None


def walk_facts(node, path):
    """Yields (path, fact) for every sourced fact object, and (path, None) for every literal "unknown" fact."""
    if isinstance(node, dict):
        if FACT_KEYS <= node.keys():
            yield path, node
            return
        for key, child in node.items():
            yield from walk_facts(child, path + [key])
    elif isinstance(node, list):
        for i, child in enumerate(node):
            yield from walk_facts(child, path + [i])
    elif node == "unknown":
        yield path, None


def fact_problems(fact, path, today):
    problems = []
    checked = parse_date(fact.get("checked"))
    if checked is None:
        problems.append(f"{path_text(path + ['checked'])}: {fact.get('checked')!r} is not a calendar date")
    elif checked > today:
        problems.append(f"{path_text(path + ['checked'])}: {checked} is in the future (today is {today})")
    if "sourceDate" in fact:
        published = parse_date(fact["sourceDate"])
        if published is None:
            problems.append(f"{path_text(path + ['sourceDate'])}: {fact['sourceDate']!r} is not a calendar date")
        elif published > today:
            problems.append(f"{path_text(path + ['sourceDate'])}: {published} is in the future (today is {today})")
        elif checked is not None and published > checked:
            problems.append(f"{path_text(path + ['sourceDate'])}: the source ({published}) is dated after it was checked ({checked})")
    source = fact.get("source")
    if isinstance(source, str):
        problem = source_problem(source)
        if problem:
            problems.append(f"{path_text(path + ['source'])}: {problem}")
    value = fact.get("value")
    if isinstance(value, dict) and isinstance(value.get("date"), str) and value["date"] != "unknown":
        date = parse_date(value["date"])
        if date is None:
            problems.append(f"{path_text(path + ['value', 'date'])}: {value['date']!r} is not a calendar date")
        elif date > today:
            problems.append(f"{path_text(path + ['value', 'date'])}: {date} is in the future (today is {today})")
    return problems


def duplicates(ids):
    seen, repeated = set(), []
    for i in ids:
        if i in seen and i not in repeated:
            repeated.append(i)
        seen.add(i)
    return repeated


def check(catalog, schema, today):
    """Returns (results, counts): results maps a check's name to its problems; counts is (sourced, unknown)."""
    results = {"schema": [schema_problem(e) for e in sorted(Draft202012Validator(schema).iter_errors(catalog),
                                                            key=lambda e: [str(p) for p in e.absolute_path])]}
    providers = catalog.get("providers") if isinstance(catalog.get("providers"), list) else []
    regions = catalog.get("regions") if isinstance(catalog.get("regions"), list) else []
    provider_ids = [p.get("id") for p in providers if isinstance(p, dict)]
    region_ids = [r.get("id") for r in regions if isinstance(r, dict)]
    region_provider = {r.get("id"): r.get("provider") for r in regions if isinstance(r, dict)}
    repeated_providers, repeated_regions = duplicates(provider_ids), duplicates(region_ids)
    sourced = unknown = 0

    for i, p in enumerate(providers):
        if not isinstance(p, dict):
            continue
        path, problems = ["providers", i], []
        if p.get("id") in repeated_providers:
            problems.append(f"{path_text(path + ['id'])}: provider id {p.get('id')!r} is used more than once")
        for fpath, fact in walk_facts(p, path):
            if fact is None:
                unknown += 1
            else:
                sourced += 1
                problems += fact_problems(fact, fpath, today)
        for j, cert in enumerate(p.get("certifications") or []):
            value = cert.get("value") if isinstance(cert, dict) else None
            for k, rid in enumerate((value or {}).get("regions") or []):
                cpath = path_text(path + ["certifications", j, "value", "regions", k])
                if rid not in region_provider:
                    problems.append(f"{cpath}: region {rid!r} is not in the catalog")
                elif region_provider[rid] != p.get("id"):
                    problems.append(f"{cpath}: region {rid!r} belongs to {region_provider[rid]!r}, not {p.get('id')!r}")
        if p.get("kind") == "self-hosted-template":
            for key in ("operator", "headquarters", "controllingParent"):
                if p.get(key) != "unknown":
                    problems.append(f"{path_text(path + [key])}: a template leaves {key} to the operator's Facts block; write \"unknown\"")
        elif p.get("kind") == "public-cloud":
            regimes = [((e or {}).get("value") or {}).get("regime") for e in p.get("exposure") or [] if isinstance(e, dict)]
            if "us-cloud-act" not in regimes:
                problems.append(f"{path_text(path + ['exposure'])}: no us-cloud-act entry; state where the provider stands (applies, disputed, none-identified or not-assessed) with a source")
        results[f"provider {p.get('id')}"] = problems

    for i, r in enumerate(regions):
        if not isinstance(r, dict):
            continue
        path, problems = ["regions", i], []
        rid, owner = r.get("id"), r.get("provider")
        if rid in repeated_regions:
            problems.append(f"{path_text(path + ['id'])}: region id {rid!r} is used more than once")
        if owner not in provider_ids:
            problems.append(f"{path_text(path + ['provider'])}: provider {owner!r} is not in the catalog")
        if isinstance(rid, str) and rid.split("/")[0] != owner:
            problems.append(f"{path_text(path + ['id'])}: region id {rid!r} must start with its provider {owner!r} followed by '/'")
        for fpath, fact in walk_facts(r, path):
            if fact is None:
                unknown += 1
            else:
                sourced += 1
                problems += fact_problems(fact, fpath, today)
        results[f"region {rid}"] = problems
    return results, (sourced, unknown)


def main(argv):
    args, today = [], datetime.datetime.now(datetime.timezone.utc).date()
    i = 0
    while i < len(argv):
        if argv[i] == "--today" and i + 1 < len(argv):
            today = parse_date(argv[i + 1])
            if today is None:
                print(f"--today {argv[i + 1]!r} is not a YYYY-MM-DD date", file=sys.stderr)
                return 2
            i += 2
        elif argv[i] in ("-h", "--help"):
            print(__doc__)
            return 0
        else:
            args.append(argv[i])
            i += 1
    catalog_path = args[0] if args else DEFAULT_CATALOG
    schema_path = args[1] if len(args) > 1 else DEFAULT_SCHEMA
    try:
        with open(catalog_path, encoding="utf-8") as f:
            catalog = json.load(f)
        with open(schema_path, encoding="utf-8") as f:
            schema = json.load(f)
    except (OSError, json.JSONDecodeError) as e:
        print(f"cannot read the catalog or its schema: {e}", file=sys.stderr)
        return 2
    if not isinstance(catalog, dict):
        print(f"{catalog_path}: the catalog must be a JSON object", file=sys.stderr)
        return 1

    results, (sourced, unknown) = check(catalog, schema, today)
    failed = 0
    for name, problems in results.items():
        if problems:
            failed += 1
            print(f"FAIL {name}")
            for p in problems:
                print(f"  {p}")
    print(f"provider catalog {os.path.relpath(catalog_path)}: {sourced} facts sourced, {unknown} unknown")
    print(f"{len(results) - failed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
