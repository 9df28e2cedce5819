"""The module runner makes every test say whether the module must fail (a forgotten check cannot pass silently)."""
import pytest

from tests.harness.modules import EITHER


def test_expect_fail_is_required(run_module):
    with pytest.raises(TypeError):
        run_module("artifact_info", {"reference": "127.0.0.1:1/x:y"})  # pylint: disable=missing-kwoa
    with pytest.raises(TypeError, match="expect_fail must be"):
        run_module("artifact_info", {"reference": "127.0.0.1:1/x:y"}, expect_fail=None)


def test_expect_fail_is_checked(run_module):
    args = {"reference": "127.0.0.1:1/x:y", "plain_http": True, "retries": 0, "timeout": 2}
    with pytest.raises(AssertionError):
        run_module("artifact_info", args, expect_fail=False)
    assert run_module("artifact_info", args, expect_fail=True)["failed"] is True
    assert run_module("artifact_info", args, expect_fail=EITHER)["failed"] is True
