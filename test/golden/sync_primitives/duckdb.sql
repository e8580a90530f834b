-- canonical text of a decimal
CAST(CAST(CAST(12.5 AS DECIMAL(18,2)) AS DECIMAL(38,9)) AS VARCHAR);

-- canonical text of a float
CASE WHEN ABS(CAST(0.1 + 0.2 AS DOUBLE)) < 1e15 THEN CAST(CAST(CAST(0.1 + 0.2 AS DOUBLE) AS DECIMAL(22,6)) AS VARCHAR) ELSE CAST(CAST(0.1 + 0.2 AS DOUBLE) AS VARCHAR) END;

-- canonical text of a large float
CASE WHEN ABS(CAST(1234567.1234567892 AS DOUBLE)) < 1e15 THEN CAST(CAST(CAST(1234567.1234567892 AS DOUBLE) AS DECIMAL(22,6)) AS VARCHAR) ELSE CAST(CAST(1234567.1234567892 AS DOUBLE) AS VARCHAR) END;

-- canonical text of an integer
CAST(CAST(-42 AS BIGINT) AS VARCHAR);

-- canonical text of booleans
CASE WHEN TRUE THEN 'true' WHEN NOT TRUE THEN 'false' END || CASE WHEN FALSE THEN 'true' WHEN NOT FALSE THEN 'false' END;

-- canonical text of a date
strftime(CAST(DATE '2024-02-29' AS TIMESTAMP), '%Y-%m-%d');

-- canonical text of a timestamp
strftime(CAST(CAST('2024-03-01 09:30:05.123' AS TIMESTAMP) AS TIMESTAMP), '%Y-%m-%d %H:%M:%S.%f');

-- canonical text of NULL stays NULL
CASE WHEN ABS(CAST(NULL AS DOUBLE)) < 1e15 THEN CAST(CAST(CAST(NULL AS DOUBLE) AS DECIMAL(22,6)) AS VARCHAR) ELSE CAST(CAST(NULL AS DOUBLE) AS VARCHAR) END;

-- date format with literals
strftime(CAST(CAST('2024-03-01 09:30:05.123' AS TIMESTAMP) AS TIMESTAMP), '%Y-%m-%dT%H:%M:%S.%gZ');

-- date format of a date, day first
strftime(CAST(DATE '2024-12-07' AS TIMESTAMP), '%d/%m/%Y');

CREATE TABLE IF NOT EXISTS "state"."locks" ("lock_key" VARCHAR, "expires_at" TIMESTAMP, PRIMARY KEY ("lock_key"));

MERGE INTO "state"."locks" AS "t"
USING (
SELECT k, v FROM staged
) AS "s"
ON "t"."k" = "s"."k"
WHEN MATCHED THEN UPDATE SET "v" = COALESCE("s"."v", "t"."v")
WHEN NOT MATCHED THEN INSERT ("k", "v") VALUES ("s"."k", "s"."v");
