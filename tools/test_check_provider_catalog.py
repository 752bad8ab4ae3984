#!/usr/bin/python3
"""Tests of tools/check_provider_catalog.py: the shipped catalog passes, and a copy broken in each way the
checker exists to catch (docs/providers.md) fails with a message naming the problem.

usage: test_check_provider_catalog.py
Prints each failing case, then `N passed, M failed`; exits 1 when any case failed. Needs python3-jsonschema.
"""
import copy
import datetime
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from check_provider_catalog import DEFAULT_CATALOG, DEFAULT_SCHEMA, check  # noqa: E402

TODAY = datetime.date(2026, 11, 29)


def provider(catalog, pid):
    return next(p for p in catalog["providers"] if p["id"] == pid)


def region(catalog, rid):
    return next(r for r in catalog["regions"] if r["id"] == rid)


def sourced(value):
    return {"value": value, "source": "https://example.org/page", "checked": "2026-11-01"}


# (name, how to break a copy of the catalog, text the checker must report)
CASES = [
    ("a fact without a source", lambda c: provider(c, "ovhcloud")["operator"].pop("source"),
     "'source' is a required property"),
    ("a fact without a check date", lambda c: region(c, "scaleway/fr-par")["city"].pop("checked"),
     "'checked' is a required property"),
    ("a guess in place of \"unknown\"", lambda c: provider(c, "hetzner").update(controllingParent="the founders"),
     "is not of type 'object'"),
    ("an empty source", lambda c: provider(c, "ionos")["operator"].update(source=""),
     "neither a URL nor a document title"),
    ("a placeholder source", lambda c: provider(c, "ionos")["operator"].update(source="TODO"),
     "neither a URL nor a document title"),
    ("a malformed URL", lambda c: provider(c, "ionos")["operator"].update(source="https:// nowhere"),
     "is not a valid one"),
    ("a non-http URL", lambda c: provider(c, "ionos")["operator"].update(source="ftp://example.org/x"),
     "scheme other than http(s)"),
    ("a check date in the future", lambda c: provider(c, "scaleway")["operator"].update(checked="2027-01-01"),
     "is in the future"),
    ("an impossible date", lambda c: provider(c, "scaleway")["operator"].update(checked="2026-02-30"),
     "is not a calendar date"),
    ("a source dated after its check", lambda c: provider(c, "scaleway")["operator"].update(sourceDate="2026-11-20", checked="2026-11-10"),
     "is dated after it was checked"),
    ("a certification dated in the future",
     lambda c: provider(c, "s3ns")["certifications"][0]["value"].update(date="2030-01-01"), "is in the future"),
    ("a region of a provider not in the catalog",
     lambda c: c["regions"].append({"id": "nowhere/x", "provider": "nowhere", "country": "unknown", "city": "unknown", "s3Endpoint": "unknown"}),
     "provider 'nowhere' is not in the catalog"),
    ("a region id that does not start with its provider", lambda c: region(c, "aws/eu-west-3").update(provider="azure"),
     "must start with its provider 'azure'"),
    ("a region id not in operator/region form", lambda c: region(c, "aws/eu-west-3").update(id="aws:eu-west-3"),
     "does not match"),
    ("a repeated region id", lambda c: c["regions"].append(copy.deepcopy(region(c, "aws/eu-west-3"))),
     "is used more than once"),
    ("a repeated provider id", lambda c: c["providers"].append(copy.deepcopy(provider(c, "garage"))),
     "is used more than once"),
    ("a certification naming another provider's region",
     lambda c: provider(c, "scaleway")["certifications"][1]["value"].update(regions=["ovhcloud/gra"]),
     "belongs to 'ovhcloud', not 'scaleway'"),
    ("a certification naming a missing region",
     lambda c: provider(c, "scaleway")["certifications"][1]["value"].update(regions=["scaleway/xx-nowhere"]),
     "is not in the catalog"),
    ("a template that states operator facts", lambda c: provider(c, "garage").update(operator=sourced("Someone")),
     "a template leaves operator to the operator's Facts block"),
    ("a public cloud silent on the CLOUD Act", lambda c: provider(c, "scaleway").update(exposure=[]),
     "no us-cloud-act entry"),
    ("an exposure status outside the list",
     lambda c: provider(c, "aws")["exposure"][0]["value"].update(status="probably"), "is not one of"),
    ("an endpoint with a path", lambda c: region(c, "ovhcloud/gra")["s3Endpoint"].update(value="https://s3.gra.io.cloud.ovh.net/bucket"),
     "does not match"),
]


def problems_of(catalog, schema):
    results, _ = check(catalog, schema, TODAY)
    return [p for problems in results.values() for p in problems]


def main():
    with open(DEFAULT_CATALOG, encoding="utf-8") as f:
        catalog = json.load(f)
    with open(DEFAULT_SCHEMA, encoding="utf-8") as f:
        schema = json.load(f)
    passed = failed = 0

    shipped = problems_of(catalog, schema)
    if shipped:
        failed += 1
        print("FAIL the shipped catalog passes:\n  " + "\n  ".join(shipped))
    else:
        passed += 1

    for name, breaks, expected in CASES:
        broken = copy.deepcopy(catalog)
        breaks(broken)
        found = problems_of(broken, schema)
        if any(expected in p for p in found):
            passed += 1
        else:
            failed += 1
            print(f"FAIL {name}: expected a problem containing {expected!r}, got {found or 'none'}")
    print(f"{passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
