# -*- coding: utf-8 -*-
# Copyright (c) k0smotron.oci contributors
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)
#
# This plugin util is PRIVATE to the collection. It can change at any time without notice.
"""Kubernetes names (DNS-1123): the one rule that the object builders (``_capi_names``) and the strict validator
(``_capi_schema``) both apply, so that what the role builds is what the validator accepts."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

# Full-match patterns only (re.fullmatch): "$" would also accept a trailing newline.
_DNS_LABEL = re.compile(r"[a-z0-9](?:[-a-z0-9]{0,61}[a-z0-9])?")
_DNS_SUBDOMAIN = re.compile(r"[a-z0-9](?:[-a-z0-9]*[a-z0-9])?(?:\.[a-z0-9](?:[-a-z0-9]*[a-z0-9])?)*")


def is_dns_label(value):
    """A DNS-1123 label (namespaces, label values): at most 63 characters."""
    return isinstance(value, str) and _DNS_LABEL.fullmatch(value) is not None


def is_dns_subdomain(value):
    """A DNS-1123 subdomain (most object names): at most 253 characters."""
    return isinstance(value, str) and len(value) <= 253 and _DNS_SUBDOMAIN.fullmatch(value) is not None


def check_dns_label(value, variable, error=ValueError):
    """``value`` if it is a DNS-1123 label (namespaces; names that are also label values), else ``error`` (the
    caller's exception class) with a message naming ``variable``."""
    if not is_dns_label(value):
        raise error("%s must be a DNS-1123 label: lowercase letters, digits and '-', starting and ending with a "
                    "letter or digit, at most 63 characters; got %r" % (variable, value))
    return value


def check_dns_subdomain(value, variable, error=ValueError):
    """``value`` if it is a DNS-1123 subdomain (most object names), else ``error`` naming ``variable``."""
    if not is_dns_subdomain(value):
        raise error("%s must be a DNS-1123 subdomain: lowercase letters, digits, '-' and '.', starting and ending "
                    "with a letter or digit, at most 253 characters; got %r" % (variable, value))
    return value
