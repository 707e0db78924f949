#!/usr/bin/env python3
"""Extracts the content-only evaluation set from the SCAP Security Guide (Debian package ssg-nondebian).

Run once, by hand; the benchmark reads only the JSON this writes and never fetches anything:

    apt-get download ssg-nondebian            # 0.1.65-1 was used
    dpkg-deb -x ssg-nondebian_0.1.65-1_all.deb ssg
    python3 extract_scap.py ssg/usr/share/xml/scap/ssg/content/ssg-rhel8-xccdf.xml > scap-rules.json

Each XCCDF rule becomes one item: its title, its description as plain text (cut at 600 characters, enough for the
256 tokens the embedding model reads) and its group: the second level of the guide's group tree ("System Accounting
with auditd", "SSH Server", ...). Groups with fewer than MIN_GROUP rules are left out; larger groups keep at most
MAX_GROUP rules, evenly spaced in rule-id order, so no group dominates the set.
"""
import json
import sys
import xml.etree.ElementTree as ET

NS = {"x": "http://checklists.nist.gov/xccdf/1.2"}
MIN_GROUP = 20
MAX_GROUP = 80
MAX_DESCRIPTION = 600


def text(element):
    return " ".join("".join(element.itertext()).split()) if element is not None else ""


def walk(node, path):
    for child in node:
        tag = child.tag.split("}")[1]
        if tag == "Group":
            yield from walk(child, path + [text(child.find("x:title", NS))])
        elif tag == "Rule":
            yield path, child


def main(path):
    root = ET.parse(path).getroot()
    groups = {}
    for trail, rule in walk(root, []):
        if len(trail) < 2:
            continue
        rule_id = rule.get("id").removeprefix("xccdf_org.ssgproject.content_rule_")
        description = text(rule.find("x:description", NS))
        if len(description) > MAX_DESCRIPTION:
            description = description[:MAX_DESCRIPTION].rsplit(" ", 1)[0] + " ..."
        groups.setdefault(trail[1], []).append(
            {"id": rule_id, "title": text(rule.find("x:title", NS)), "description": description, "group": trail[1]})
    items = []
    for name in sorted(groups):
        rules = sorted(groups[name], key=lambda r: r["id"])
        if len(rules) < MIN_GROUP:
            continue
        if len(rules) > MAX_GROUP:
            rules = [rules[i * len(rules) // MAX_GROUP] for i in range(MAX_GROUP)]
        items.extend(rules)
    json.dump({
        "source": "SCAP Security Guide 0.1.65, Debian package ssg-nondebian 0.1.65-1 (BSD-3-Clause), " + path.rsplit("/", 1)[-1],
        "items": items,
    }, sys.stdout, ensure_ascii=False, indent=0)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main(sys.argv[1])
