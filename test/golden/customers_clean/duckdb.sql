-- customers_clean (staging) for target duckdb (duckdb)
-- Built into "analytics__tl_work"."customers_clean__tl_build", then swapped in inside one transaction.

DROP TABLE IF EXISTS "analytics__tl_work"."customers_clean__tl_build";

-- build
CREATE TABLE "analytics__tl_work"."customers_clean__tl_build" AS
SELECT "customer_id", "email", "phone_digits", "first_name", "country", "email_sha256", "created_at"
FROM (
  SELECT projected.*, ROW_NUMBER() OVER (PARTITION BY "email" ORDER BY "created_at" DESC NULLS LAST, "customer_id" ASC NULLS LAST, "email" ASC NULLS LAST, "phone_digits" ASC NULLS LAST, "first_name" ASC NULLS LAST, "country" ASC NULLS LAST, "email_sha256" ASC NULLS LAST) AS "__tideline_rank"
  FROM (
    SELECT
      CAST("id" AS VARCHAR) AS "customer_id",
      NULLIF(lower(trim(CAST("email" AS VARCHAR))), '') AS "email",
      NULLIF(regexp_replace(CAST("phone" AS VARCHAR), '[^0-9]', '', 'g'), '') AS "phone_digits",
      lower(regexp_replace(trim(CAST("first_name" AS VARCHAR)), '[[:space:]]+', ' ', 'g')) AS "first_name",
      upper(trim(CAST("country" AS VARCHAR))) AS "country",
      sha256(lower(trim(CAST("email" AS VARCHAR)))) AS "email_sha256",
      "created_at" AS "created_at"
    FROM "raw"."customers" AS src
    WHERE ("status" NOT IN ('test', 'deleted') OR "status" IS NULL)
      AND "created_at" >= CAST('2023-01-01 00:00:00.000' AS TIMESTAMP)
  ) AS projected
) AS ranked
WHERE "__tideline_rank" = 1 OR "email" IS NULL;

-- swap in
DROP TABLE IF EXISTS "analytics"."customers_clean";
CREATE TABLE "analytics"."customers_clean" AS SELECT * FROM "analytics__tl_work"."customers_clean__tl_build";
DROP TABLE IF EXISTS "analytics__tl_work"."customers_clean__tl_build";
