"""Plug-ins the embedded launcher and the tests install into services (`zhongshi_runtime.plugins`): the
embedded broker's workarounds (`tansu`) and the fault suite's hooks (`faults`). Production installs none."""

TANSU = "zhongshi.plugins.tansu:install"
FAULTS = "zhongshi.plugins.faults:install"
