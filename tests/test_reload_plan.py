"""plan_reload: which changed settings a running daemon applies, and which wait for a
restart (kept at their running value, named)."""

from __future__ import annotations

from pathlib import Path

from phototag.config import Settings
from phototag.runtime.reload import Part, changed_keys, plan_reload


def settings(**values: object) -> Settings:
    return Settings(**{"roots": [Path("/photos")], **values})  # type: ignore[arg-type]


def test_nothing_changed_plans_nothing() -> None:
    plan = plan_reload(settings(), settings())
    assert (plan.applied, plan.needs_restart, plan.parts) == ((), (), frozenset())


def test_a_tagging_setting_rebuilds_the_core_only() -> None:
    plan = plan_reload(settings(), settings(max_keywords=3, vlm={"profile": "stock"}))
    assert plan.applied == ("max_keywords", "vlm.profile")
    assert plan.parts == {Part.CORE} and plan.settings.max_keywords == 3


def test_each_part_gets_only_its_settings() -> None:
    loaded = settings(outputs={"jsonl_max_bytes": 10_000}, log_level="DEBUG", dry_run=True)
    plan = plan_reload(settings(), loaded)
    assert plan.applied == ("log_level", "dry_run", "outputs.jsonl_max_bytes")
    assert plan.parts == {Part.LOGGING, Part.CORE, Part.OUTPUTS}


def test_restart_only_settings_keep_their_running_value_and_are_named() -> None:
    running = settings(workers=2, vlm={"max_inflight": 4, "keywords": {"model": "small"}})
    loaded = settings(
        workers=6,
        roots=[Path("/elsewhere")],
        max_keywords=9,
        vlm={"max_inflight": 8, "profile": "stock", "keywords": {"model": "tiny"}},
    )
    plan = plan_reload(running, loaded)
    assert plan.needs_restart == ("roots", "workers", "vlm.max_inflight", "vlm.keywords.model")
    assert plan.applied == ("max_keywords", "vlm.profile")
    now = plan.settings
    assert (now.workers, now.roots, now.vlm.max_inflight) == (2, [Path("/photos")], 4)
    assert now.vlm.keywords is not None and now.vlm.keywords.model == "small"
    assert (now.max_keywords, now.vlm.profile) == (9, "stock")  # the rest is applied
    assert list(changed_keys(running, now)) == ["max_keywords", "vlm.profile"]


def test_a_secret_is_compared_by_value_and_named_without_it() -> None:
    plan = plan_reload(settings(vlm={"api_key": "sk-old"}), settings(vlm={"api_key": "sk-new"}))
    assert plan.applied == ("vlm.api_key",) and "sk-new" not in repr(plan.applied)
