# Copyright 2026 rgbd_seg_ros developers
# SPDX-License-Identifier: Apache-2.0
"""
ament_xmllint's check of package.xml: well-formed XML that follows package format 3 (the
elements, their order and the ament_python build type), and ``xmllint`` against the schema
where the tool and the schema file are installed.
"""

from pathlib import Path
import shutil
import subprocess
import xml.etree.ElementTree as ET

import pytest

REPO = Path(__file__).resolve().parents[1]
PACKAGE = REPO / 'package.xml'
# REP 149 order of the leading elements; depends, url, author, export may follow.
LEADING = ('name', 'version', 'description', 'maintainer', 'license')
DEPENDS = {'buildtool_depend', 'build_depend', 'build_export_depend', 'depend', 'exec_depend',
           'test_depend', 'doc_depend', 'buildtool_export_depend', 'member_of_group', 'url',
           'author', 'group_depend', 'conflict', 'replace', 'export'}


@pytest.mark.linter
def test_package_xml_follows_format_3():
    root = ET.parse(PACKAGE).getroot()
    assert root.tag == 'package' and root.get('format') == '3'
    tags = [child.tag for child in root]
    assert tags[:len(LEADING)] == list(LEADING), f'{LEADING} must come first, in order: {tags}'
    assert set(tags[len(LEADING):]) <= DEPENDS | {'maintainer', 'license'}, tags
    assert root.findtext('name') == 'rgbd_seg_ros'
    assert all(part.isdigit() for part in root.findtext('version').split('.'))
    assert root.find('maintainer').get('email')
    assert root.find('export').findtext('build_type') == 'ament_python'
    setup = (REPO / 'setup.py').read_text()
    assert f"version='{root.findtext('version')}'" in setup, 'setup.py and package.xml versions'


@pytest.mark.linter
def test_xmllint_with_the_schema_when_available():
    schema = Path('/opt/ros').glob('*/share/ament_xmllint/package_format3.xsd')
    xsd = next(iter(schema), None)
    if shutil.which('xmllint') is None or xsd is None:
        pytest.skip('xmllint or the package_format3.xsd schema is not installed here')
    proc = subprocess.run(['xmllint', '--noout', '--schema', str(xsd), str(PACKAGE)],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
