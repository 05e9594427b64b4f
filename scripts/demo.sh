#!/usr/bin/env bash
# `make demo`: start the services, then backfill the last trading days through Airflow's market_day
# DAG (extract -> replay into Kafka -> wait for the running stream -> finalise and reconcile ->
# render the six analyses), query the lakehouse, and say where everything is.
set -euo pipefail
cd "$(dirname "$0")/.."
ss=.venv/bin/stockstream
days="${DEMO_DAYS:-5}"

step() { printf '\n\033[1;36m==> %s\033[0m\n' "$*"; }

# The demo range (the last $days weekdays before today) and the trailing window its last day's
# report covers.
read -r start end window < <(.venv/bin/python - "$days" <<'PY'
import sys
from datetime import date, timedelta
from stockstream.config import get_settings
from stockstream.market.sources import business_days
from stockstream.orchestration.days import trailing_window
days = business_days(date.today() - timedelta(days=30), date.today() - timedelta(days=1))[-int(sys.argv[1]):]
first, last = trailing_window(days[-1], get_settings().render_window_days)
print(days[0], days[-1], f"{first}_{last}")
PY
)

step "Starting the Kafka broker, the stream (Kafka -> bronze -> silver -> gold), the SQL engine, the dashboard and Airflow"
$ss up

step "Backfilling $start..$end through Airflow (DAG market_day, offline market data: no network needed)"
$ss backfill --start "$start" --end "$end" --source offline

step "Querying the lakehouse with Spark SQL (on the SQL engine that up started)"
$ss sql --limit 50 \
  "SELECT (SELECT count(*) FROM bronze.transactions) AS bronze_rows, (SELECT count(*) FROM silver.transactions) AS silver_rows, (SELECT count(*) FROM silver.quarantine) AS quarantined, (SELECT count(*) FROM gold.stock_daily) AS stock_days, (SELECT count(*) FROM gold.minute_bars) AS minute_bars, (SELECT count(*) FROM gold.alerts) AS alerts" \
  "SELECT trade_date, industry, round(growth_pct, 3) AS growth_pct, stocks, growing_stocks FROM gold.tech_daily ORDER BY trade_date, industry"

step "Where to look"
$ss status || true
reports="$(.venv/bin/python -c 'from stockstream.config import get_settings; print(get_settings().reports_dir)')"
cat <<MSG
  Charts and report : $reports/$window/report.html (the six analyses of $window)
                      $reports/$end/report.html (the last day alone; one folder per day)
  Live dashboard    : the dashboard URL above (live prices, movers, alerts, stream health, the charts)
  Airflow UI        : the URL above; log in as admin with the password shown above
                      (DAGs market_day, market_reference, lakehouse_maintenance)
  Backfill more     : $ss backfill --start YYYY-MM-DD --end YYYY-MM-DD --source offline
  Query any table   : $ss sql "SELECT * FROM gold.stock_daily WHERE ticker = 'AAPL'"
  Data and logs     : var/ (lakehouse/, checkpoints/, kafka/, airflow/, reports/, logs/)
  Stop everything   : make down
MSG
