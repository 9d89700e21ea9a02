"""An incident's metric as a picture (Slack) or a sparkline (terminal).

Why in core: the incident thread is posted by a front end, which may not read AWS; this reads the
incident's own instance (its id, never a name from telemetry) through the same batched GetMetricData
the tools use, and hands back a rendered chart. The metric is the alarm's when the alarm watches an
EC2 metric, CPU otherwise.
"""

from __future__ import annotations

import logging
import re
from typing import get_args

from store.incidents import Incident
from tools.charts import Chart, ChartSeries, line_chart
from tools.cloudwatch import Ec2Metric, InstanceMetric, fetch_metric_series
from tools.inventory import fetch_instances
from tools.render import sparkline
from tools.runner import ToolRunner

log = logging.getLogger(__name__)
EC2_METRICS = frozenset(get_args(Ec2Metric))
THRESHOLD = re.compile(r"threshold (\d+(?:\.\d+)?)")
# a band incident's evidence (monitoring/baseline.py): "CPUUtilization 40.2% (…), band 0.0–12.5%, usually …"
BAND = re.compile(r"^(\w+) .*?, band ([\d.,]+[kM]?)–([\d.,]+[kM]?)")
BAND_HOURS = 6  # a band incident is about hours, not minutes: show enough of them
METRIC = re.compile(r"\bmetric (\w+)")


class IncidentCharts:
    def __init__(self, runner: ToolRunner) -> None:
        self.runner = runner

    def metric_of(self, incident: Incident) -> str:
        found = next((m.group(1) for line in incident.evidence if (m := METRIC.search(line) or BAND.search(line))),
                     None)
        return found if found is not None and found in EC2_METRICS else "CPUUtilization"

    def _series(self, incident: Incident, minutes: int = 60) -> tuple[str, InstanceMetric] | None:
        if not incident.instance_id:
            return None
        if incident.check_name == "baseline":
            minutes = BAND_HOURS * 60
        clients = self.runner.context_for(incident.account).clients
        found = fetch_instances(clients, incident.region, instance_ids=[incident.instance_id])
        if not found:
            return None
        period = 60 if found[0].detailed_monitoring else 300
        metric = self.metric_of(incident)
        return metric, fetch_metric_series(clients, incident.region, found[:1], metric, "Average", minutes, period)[0]

    def chart(self, incident: Incident) -> Chart | None:
        """The PNG for the incident's thread; None when it has no instance or no datapoints."""
        read = self._series(incident)
        if read is None:
            return None
        metric, series = read
        band = _band(incident)
        threshold = None if band else next((float(m.group(1)) for text in [incident.summary, *incident.evidence]
                                            if (m := THRESHOLD.search(text))), None)
        window = f"last {BAND_HOURS} h" if band else "last 60 min"
        return line_chart(f"{metric} of {series.name or series.instance_id}, {window} (incident #{incident.id})",
                          "%" if metric == "CPUUtilization" else "",
                          [ChartSeries(label=series.name or series.instance_id, times=[p.timestamp for p in series.points],
                                       values=[p.value for p in series.points])],
                          threshold=threshold, band=band, filename=f"incident-{incident.id}-{metric.lower()}.png")

    def sparkline(self, incident: Incident) -> str | None:
        """`CPUUtilization last hour: ▂▂▃▅▇█ (latest 97.0)` for the terminal."""
        try:
            read = self._series(incident)
        except Exception:  # a picture is never worth failing an incident's output
            log.warning("could not read the metric of incident %s", incident.id)
            return None
        if read is None or not read[1].points:
            return None
        metric, series = read
        values = [p.value for p in series.points]
        low, high = (0, 100) if metric == "CPUUtilization" else (None, None)
        return f"{metric} last hour: {sparkline(values[-30:], low, high)} (latest {values[-1]:.1f})"


def _number(text: str) -> float:
    scale = {"k": 1e3, "M": 1e6}.get(text[-1], 1.0)
    return float(text.rstrip("kM").replace(",", "")) * scale


def _band(incident: Incident) -> tuple[float, float] | None:
    """The usual band a baseline incident was judged against, from its evidence."""
    if incident.check_name != "baseline":
        return None
    match = next((m for line in incident.evidence if (m := BAND.search(line))), None)
    return (_number(match.group(2)), _number(match.group(3))) if match else None
