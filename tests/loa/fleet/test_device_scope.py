"""`Device.objects.among(device_ids, unit_paths)`: the part of the fleet a manifest compilation reads (both
compilers, loudspeakers and boards, use it)."""

from __future__ import annotations

import pytest

from loa.fleet.models import Device
from loa.fleet.services import do_provision_device
from loa.units.models import Unit


@pytest.mark.parametrize(
    ("ids", "paths", "expected"),
    [
        (None, None, {"a1", "a2", "zone", "b1"}),
        (["a1", "b1"], None, {"a1", "b1"}),
        (None, ["a"], {"a1", "a2", "zone"}),  # a commune takes its zones' devices too
        (None, ["zone_a", "b"], {"zone", "b1"}),
        (["a1", "b1"], ["a"], {"a1"}),  # both: the devices named *and* under the paths
        ([], None, set()),
        (None, [], set()),
    ],
)
def test_among_limits_to_the_devices_and_unit_paths_given(
    tree: dict[str, Unit], ids: list[str] | None, paths: list[str] | None, expected: set[str]
) -> None:
    names: dict[str, str] = {}
    for name, unit in (("a1", "a"), ("a2", "a"), ("zone", "zone_a"), ("b1", "b")):
        device, _password = do_provision_device(tree[unit], actor=None, serial=f"SC-{name}")
        names[device.device_id] = name
    by_name = {v: k for k, v in names.items()}
    chosen = Device.objects.among(
        [by_name[i] for i in ids] if ids is not None else None,
        [tree[p].path for p in paths] if paths is not None else None,
    )
    assert {names[d] for d in chosen.values_list("device_id", flat=True)} == expected
