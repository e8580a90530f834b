"""Nightly Tideline run for Airflow: validate, build the models, then sync the destinations.

Tideline's exit codes drive the DAG: 0 success, 1 a run or sync failed (worth retrying: the warehouse or an API
had a bad moment, and a re-run re-sends only what did not arrive), 2 a configuration error (retrying cannot help).
Configuration errors are therefore caught by a `validate` task that has no retries; `run` and `sync` retry.

Set TIDELINE_PROJECT to the project folder on the workers, and give the warehouse and destination credentials as
environment variables (Airflow connections or a secrets backend exported to the environment); tideline.yml and the
sync files reference them as ${env:NAME}. The project's package.json lists tideline (see the README's "Install"):
deploy the project with `npm ci` in its folder, and the tasks run the tideline it installed there
(TIDELINE_BIN to run another).
"""

from datetime import datetime, timedelta
import os

from airflow import DAG
from airflow.operators.bash import BashOperator

PROJECT = os.environ.get("TIDELINE_PROJECT", "/opt/tideline/shop")
TIDELINE = os.environ.get("TIDELINE_BIN", f"{PROJECT}/node_modules/.bin/tideline")
COMMON = f"{TIDELINE} --project {PROJECT} --log-format json"

with DAG(
    dag_id="tideline_nightly",
    description="Build customer models in the warehouse and sync what changed",
    schedule="0 3 * * *",
    start_date=datetime(2026, 1, 1),
    catchup=False,
    max_active_runs=1,
    default_args={"owner": "data", "retries": 2, "retry_delay": timedelta(minutes=10), "retry_exponential_backoff": True},
    tags=["tideline", "reverse-etl"],
) as dag:
    validate = BashOperator(
        task_id="validate",
        bash_command=f"{COMMON} validate",
        retries=0,
    )
    run = BashOperator(
        task_id="run",
        bash_command=f"{COMMON} run",
        execution_timeout=timedelta(hours=2),
    )
    sync = BashOperator(
        task_id="sync",
        bash_command=f"{COMMON} sync",
        execution_timeout=timedelta(hours=4),
    )

    validate >> run >> sync
