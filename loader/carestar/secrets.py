"""Connection settings from an AWS Secrets Manager secret (CARESTAR_SECRET_ID or --secret-id).

The secret is a JSON object whose keys are the same environment variables
profiles/profiles.yml and the loader read (PGHOST, MSSQL_PASSWORD, ...). Only
those keys are taken, they go into this process's environment (and so to dbt
when it is started from here), and no value is ever logged or printed.
"""

from __future__ import annotations

import json
import os

CONNECTION_VARIABLES = frozenset(
    {
        "CARESTAR_DUCKDB_PATH",
        "PGHOST",
        "PGPORT",
        "PGUSER",
        "PGPASSWORD",
        "PGDATABASE",
        "MSSQL_SERVER",
        "MSSQL_DATABASE",
        "MSSQL_USER",
        "MSSQL_PASSWORD",
        "REDSHIFT_HOST",
        "REDSHIFT_PORT",
        "REDSHIFT_DATABASE",
        "REDSHIFT_USER",
        "REDSHIFT_PASSWORD",
        "MSSQL_TRUST_CERT",
        "CARESTAR_REDSHIFT_STAGING",
        "CARESTAR_REDSHIFT_IAM_ROLE",
    }
)


class SecretError(Exception):
    pass


def apply_secret(secret_id: str | None = None) -> list[str]:
    """Set connection variables from the secret; returns the names set (never the values)."""
    secret_id = secret_id or os.environ.get("CARESTAR_SECRET_ID")
    if not secret_id:
        return []
    import boto3
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        payload = boto3.client("secretsmanager").get_secret_value(SecretId=secret_id)["SecretString"]
        values = json.loads(payload)
    except (BotoCoreError, ClientError) as exc:
        raise SecretError(f"cannot read secret {secret_id}: {type(exc).__name__}") from None
    except (KeyError, ValueError):
        raise SecretError(f"secret {secret_id} is not a JSON object of connection variables") from None
    if not isinstance(values, dict):
        raise SecretError(f"secret {secret_id} is not a JSON object of connection variables")
    unknown = sorted(set(values) - CONNECTION_VARIABLES)
    if unknown:
        raise SecretError(f"secret {secret_id} has keys carestar does not use: {', '.join(unknown)}")
    for key, value in values.items():
        os.environ[key] = str(value)
    return sorted(values)
