"""Counts passed and failed test cases in JUnit XML files (ctest and pytest).

Usage: junit_count.py FILE...   prints "<passed> <failed>" on one line.
A missing or unreadable file counts as one failure: a stage that should have
written results and did not has failed.
"""
import sys
import xml.etree.ElementTree as ET


def count(path):
    try:
        root = ET.parse(path).getroot()
    except (OSError, ET.ParseError):
        return 0, 1
    passed = failed = 0
    for case in root.iter("testcase"):
        status = case.get("status", "")
        if status in ("disabled", "notrun") or case.find("skipped") is not None:
            continue
        if status == "fail" or case.find("failure") is not None or case.find("error") is not None:
            failed += 1
        else:
            passed += 1
    return passed, failed


def main():
    total_p = total_f = 0
    for path in sys.argv[1:]:
        p, f = count(path)
        total_p += p
        total_f += f
    print(total_p, total_f)


if __name__ == "__main__":
    main()
