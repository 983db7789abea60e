"""Calibration mappings in one form: the project's old `piecewise_linear` tables (slope 1 beyond
their ends) become ai_service's Leniency JSON (knots over 0-10, flat beyond the end knots) that
map every score in 0-10 exactly as before (analytics.knots_through_scale, frozen here as Django
migrations are: they must not change when the code does)."""

import hashlib
import json

from django.db import migrations


def _knots(xs, ys):
    knots = [(float(x), float(y)) for x, y in zip(xs, ys, strict=True)]
    (x0, y0), (xn, yn) = knots[0], knots[-1]
    if x0 > 0:
        if y0 - x0 < 0 and y0 > 0:
            knots.insert(0, (x0 - y0, 0.0))
        if knots[0][0] > 0:
            knots.insert(0, (0.0, max(0.0, y0 - x0)))
    if xn < 10:
        if yn + 10 - xn > 10 and yn < 10:
            knots.append((xn + 10 - yn, 10.0))
        if knots[-1][0] < 10:
            knots.append((10.0, min(10.0, yn + 10 - xn)))
    return [[round(x, 4), round(y, 4)] for x, y in knots]


def _version(knots):
    # ai_service.types.Leniency.content_version for grader_version "" (the project's own fits).
    canonical = json.dumps({"grader": "", "knots": knots}, separators=(",", ":"), sort_keys=True)
    return "len-" + hashlib.sha256(canonical.encode()).hexdigest()[:12]


def forwards(apps, schema_editor):
    Calibration = apps.get_model("review", "Calibration")
    for calibration in Calibration.objects.all():
        mapping = calibration.mapping
        if not isinstance(mapping, dict) or mapping.get("kind") != "piecewise_linear":
            continue
        knots = _knots(mapping["x"], mapping["y"])
        calibration.mapping = {"version": _version(knots), "grader_version": "", "pairs": calibration.pair_count, "knots": knots}
        calibration.save(update_fields=["mapping"])


class Migration(migrations.Migration):
    dependencies = [("review", "0001_initial")]

    operations = [migrations.RunPython(forwards, migrations.RunPython.noop)]
