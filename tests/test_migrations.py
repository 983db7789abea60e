"""The migrations match the models and form one line (parallel branches are renumbered on rebase,
never joined by Django's merge migrations)."""

from __future__ import annotations

from io import StringIO

import pytest
from django.apps import apps
from django.core.management import call_command
from django.db import connection
from django.db.migrations.loader import MigrationLoader


@pytest.mark.django_db
def test_the_models_need_no_new_migration() -> None:
    out = StringIO()
    call_command("makemigrations", "--check", "--dry-run", stdout=out, stderr=out)
    assert "No changes detected" in out.getvalue()


def _project_apps_with_models() -> list[str]:
    return [a.label for a in apps.get_app_configs() if a.name.startswith("interview_rt.") and list(a.get_models())]


def test_every_project_app_with_models_is_checked() -> None:
    assert {"interviews", "review", "delivery"} <= set(_project_apps_with_models())


@pytest.mark.django_db
@pytest.mark.parametrize("app", _project_apps_with_models())
def test_the_project_migrations_are_one_line(app: str) -> None:
    graph = MigrationLoader(connection, ignore_no_migrations=True).graph
    ours = sorted(key for key in graph.nodes if key[0] == app)
    assert ours, f"no migrations of the {app} app"
    for key in ours:
        parents = [p for p in graph.node_map[key].parents if p.key[0] == app]
        children = [c for c in graph.node_map[key].children if c.key[0] == app]
        assert len(parents) <= 1 and len(children) <= 1, f"{key[1]} branches or merges"
    assert len(graph.leaf_nodes(app)) == 1
    # Numbered in order: 0001, 0002, ... with no gap or repeat.
    assert [name[:4] for _, name in ours] == [f"{i:04d}" for i in range(1, len(ours) + 1)]
