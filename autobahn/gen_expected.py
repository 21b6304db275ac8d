"""Print the expected-results.json content for the installed autobahntestsuite.

Run it with the wstest virtualenv's python (Python 2.7):

    "$(dirname "$(autobahn/install.sh)")/python" autobahn/gen_expected.py \
        > autobahn/expected-results.json

Case list: the suite's own case registry (autobahntestsuite.case.Cases),
resolved with the same pattern logic wstest uses for the spec's "cases" /
"exclude-cases" (["*"], every case including permessage-deflate).

Expected behavior: "INFORMATIONAL" for every case whose implementation
unconditionally sets ``self.behavior = Case.INFORMATIONAL`` (the spec leaves
the outcome undefined), "OK" for all others.
"""
from __future__ import print_function

import inspect
import json
import re
import sys
from collections import OrderedDict

from autobahntestsuite.case import (Cases, CaseSetname, CaseBasename,
                                    CaseCategories, CaseSubCategories)
from autobahntestsuite.caseset import CaseSet

INCLUDE = ["*"]
EXCLUDE = []

INFORMATIONAL_RE = re.compile(r"self\.behavior\s*=\s*Case\.INFORMATIONAL\b")


def main():
    cs = CaseSet(CaseSetname, CaseBasename, Cases, CaseCategories, CaseSubCategories)
    ids = cs.parseSpecCases({"cases": INCLUDE, "exclude-cases": EXCLUDE})
    out = OrderedDict()
    for case_id in ids:
        klass = cs.CasesById[case_id]
        source = inspect.getsource(sys.modules[klass.__module__])
        out[case_id] = "INFORMATIONAL" if INFORMATIONAL_RE.search(source) else "OK"
    json.dump(out, sys.stdout, indent=2, separators=(",", ": "))
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
