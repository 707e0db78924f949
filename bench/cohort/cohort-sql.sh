#!/usr/bin/env bash
# Times the cohort views' statements (OrganizationInsightsService, copied with their parameters filled in) on a
# synthetic organization: LEARNERS learners with ITEMS progress records each, beside as many outsiders' records.
# PostgreSQL: a scratch database on the server named by PGHOST/PGPORT/PGUSER/PGPASSWORD; SQLite: a temporary file.
# Usage: bench/cohort/cohort-sql.sh [learners] [items] [rounds]
set -euo pipefail
LEARNERS=${1:-1000}; ITEMS=${2:-50}; ROUNDS=${3:-5}
DB=cohort_bench_$$
here=$(cd "$(dirname "$0")" && pwd)

schema() {
cat <<SQL
CREATE TABLE users ("Id" bigint PRIMARY KEY, "Username" varchar(150) NOT NULL, "NormalizedUsername" varchar(150) NOT NULL, "DeletedAt" $1 NULL);
CREATE TABLE organization_members ("OrganizationId" bigint NOT NULL, "UserId" bigint NOT NULL, "Role" varchar(20) NOT NULL, PRIMARY KEY ("OrganizationId", "UserId"));
CREATE INDEX ix_members_user ON organization_members ("UserId");
CREATE TABLE progress ("Id" bigint PRIMARY KEY, "UserId" bigint NOT NULL, "ContentType" varchar(32) NOT NULL, "ContentId" varchar(128) NOT NULL,
  "Status" varchar(16) NOT NULL, "CompletionPercentage" double precision NOT NULL, "Score" double precision NULL, "TimeSpentSeconds" bigint NOT NULL,
  "StartedAt" $1 NULL, "CompletedAt" $1 NULL, "UpdatedAt" $1 NOT NULL);
CREATE UNIQUE INDEX ix_progress_user_item ON progress ("UserId", "ContentType", "ContentId");
CREATE INDEX ix_progress_user_status ON progress ("UserId", "Status");
SQL
}

# The four statements, as the service sends them (org 1, idle 7 days, page 1 of 20, sorted by -stuck / -stuck).
queries() {
local idle="$1" week="$2" w0="$3"
local learners="(SELECT m.\"UserId\" AS \"UserId\", u.\"Username\" AS \"Username\", u.\"NormalizedUsername\" AS \"SortName\" FROM organization_members m JOIN users u ON u.\"Id\" = m.\"UserId\" WHERE m.\"OrganizationId\" = 1 AND m.\"Role\" = 'member' AND u.\"DeletedAt\" IS NULL)"
local stuck="CASE WHEN (p.\"Status\" = 'InProgress' AND p.\"UpdatedAt\" <= $idle) OR (p.\"Status\" <> 'NotStarted' AND p.\"Score\" < 50) THEN 1 ELSE 0 END"
cat <<SQL
-- summary
SELECT COUNT(*), CAST(COALESCE(SUM(active), 0) AS BIGINT), CAST(COALESCE(SUM(completed), 0) AS BIGINT),
  CAST(SUM(score_sum) AS DOUBLE PRECISION) / CAST(NULLIF(SUM(scored), 0) AS DOUBLE PRECISION),
  CAST(COALESCE(SUM(CASE WHEN stuck > 0 THEN 1 ELSE 0 END), 0) AS BIGINT), CAST(COALESCE(SUM(stuck), 0) AS BIGINT)
FROM (SELECT l."UserId", MAX(CASE WHEN p."UpdatedAt" >= $week THEN 1 ELSE 0 END) AS active, SUM(CASE WHEN p."Status" = 'Completed' THEN 1 ELSE 0 END) AS completed,
  SUM(CASE WHEN p."Status" <> 'NotStarted' THEN p."Score" END) AS score_sum, COUNT(CASE WHEN p."Status" <> 'NotStarted' THEN p."Score" END) AS scored, SUM($stuck) AS stuck
  FROM $learners l LEFT JOIN progress p ON p."UserId" = l."UserId" GROUP BY l."UserId") per_learner;
-- weeks
SELECT CASE WHEN p."CompletedAt" >= $week THEN 11 ELSE 0 END AS "Week", COUNT(*) FROM $learners l JOIN progress p ON p."UserId" = l."UserId"
WHERE p."Status" = 'Completed' AND p."CompletedAt" >= $w0 GROUP BY CASE WHEN p."CompletedAt" >= $week THEN 11 ELSE 0 END;
-- learners
WITH agg AS (SELECT p."UserId" AS "UserId", SUM(CASE WHEN p."Status" = 'Completed' THEN 1 ELSE 0 END) AS completed,
  SUM(CASE WHEN p."Status" = 'InProgress' THEN 1 ELSE 0 END) AS in_progress, SUM(p."TimeSpentSeconds") AS time_spent,
  AVG(CASE WHEN p."Status" <> 'NotStarted' THEN p."Score" END) AS average_score, MAX(p."UpdatedAt") AS last_active, SUM($stuck) AS stuck
  FROM $learners l JOIN progress p ON p."UserId" = l."UserId" GROUP BY p."UserId")
SELECT l."UserId", l."Username", CAST(COALESCE(a.completed, 0) AS BIGINT), CAST(COALESCE(a.time_spent, 0) AS BIGINT), a.average_score, a.last_active, COUNT(*) OVER ()
FROM $learners l LEFT JOIN agg a ON a."UserId" = l."UserId" ORDER BY COALESCE(a.stuck, 0) DESC, l."SortName", l."UserId" LIMIT 20 OFFSET 0;
-- items
WITH rec AS (SELECT p."ContentType" AS "ContentType", p."ContentId" AS "ContentId", p."Status" AS status, p."Score" AS score, p."TimeSpentSeconds" AS spent, $stuck AS stuck,
  ROW_NUMBER() OVER (PARTITION BY p."ContentType", p."ContentId" ORDER BY p."TimeSpentSeconds", p."Id") AS rn, COUNT(*) OVER (PARTITION BY p."ContentType", p."ContentId") AS n
  FROM $learners l JOIN progress p ON p."UserId" = l."UserId" WHERE p."Status" <> 'NotStarted'),
items AS (SELECT "ContentType", "ContentId", COUNT(*) AS started, SUM(CASE WHEN status = 'Completed' THEN 1 ELSE 0 END) AS completed, AVG(score) AS average_score,
  CAST(AVG(CASE WHEN rn = (n + 1) / 2 OR rn = (n + 2) / 2 THEN CAST(spent AS DOUBLE PRECISION) END) AS DOUBLE PRECISION) AS median, SUM(stuck) AS stuck FROM rec GROUP BY "ContentType", "ContentId")
SELECT "ContentType", "ContentId", started, completed, average_score, median, stuck, COUNT(*) OVER () FROM items ORDER BY stuck DESC, "ContentType", "ContentId" LIMIT 20 OFFSET 0;
SQL
}

# Learners 1..L are in organization 1; as many outsiders (L+1..2L) have records too, in organization 2.
fill_pg() {
cat <<SQL
INSERT INTO users SELECT i, 'user' || i, 'USER' || i, NULL FROM generate_series(1, 2 * $LEARNERS) i;
INSERT INTO organization_members SELECT CASE WHEN i <= $LEARNERS THEN 1 ELSE 2 END, i, 'member' FROM generate_series(1, 2 * $LEARNERS) i;
INSERT INTO progress SELECT (u - 1) * $ITEMS + k, u, 'lab', 'item-' || k,
  CASE WHEN (u + k) % 3 = 0 THEN 'Completed' WHEN (u + k) % 3 = 1 THEN 'InProgress' ELSE 'NotStarted' END, ((u * k) % 100)::float,
  CASE WHEN (u + k) % 2 = 0 THEN ((u * 7 + k) % 100)::float END, (u * k) % 5000, now() - ((u + k) % 40) * interval '1 day',
  CASE WHEN (u + k) % 3 = 0 THEN now() - ((u + k) % 80) * interval '1 day' END, now() - ((u * k) % 30) * interval '1 day'
FROM generate_series(1, 2 * $LEARNERS) u, generate_series(1, $ITEMS) k;
ANALYZE;
SQL
}

export PGDATABASE=postgres
psql -q -c "CREATE DATABASE $DB" >/dev/null
trap 'psql -q -c "DROP DATABASE IF EXISTS $DB" >/dev/null; [ -n "${KEEP:-}" ] || rm -f /tmp/$DB.sqlite' EXIT
{ schema timestamptz; fill_pg; } | psql -q -d "$DB" >/dev/null
echo "PostgreSQL: $LEARNERS learners x $ITEMS records (and as many outsiders' records), $ROUNDS rounds, ms per statement:"
queries "now() - interval '7 days'" "now() - interval '7 days'" "now() - interval '84 days'" > /tmp/$DB.sql
for r in $(seq "$ROUNDS"); do
  { echo '\timing on'; cat /tmp/$DB.sql; } | psql -d "$DB" -o /dev/null 2>&1 | grep -o 'Time: [0-9.]*' | awk '{printf "%s ", $2} END {print ""}'
done

# SQLite: the same data (dates as EF stores them: text, 'yyyy-MM-dd HH:mm:ss.FFFFFFF').
{ schema TEXT | sed 's/bigint/INTEGER/g; s/double precision/REAL/g'
  echo "WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM s WHERE i < 2 * $LEARNERS) INSERT INTO users SELECT i, 'user' || i, 'USER' || i, NULL FROM s;"
  echo "INSERT INTO organization_members SELECT CASE WHEN \"Id\" <= $LEARNERS THEN 1 ELSE 2 END, \"Id\", 'member' FROM users;"
  echo "WITH RECURSIVE k(j) AS (SELECT 1 UNION ALL SELECT j + 1 FROM k WHERE j < $ITEMS)
        INSERT INTO progress SELECT (u.\"Id\" - 1) * $ITEMS + j, u.\"Id\", 'lab', 'item-' || j,
        CASE WHEN (u.\"Id\" + j) % 3 = 0 THEN 'Completed' WHEN (u.\"Id\" + j) % 3 = 1 THEN 'InProgress' ELSE 'NotStarted' END, (u.\"Id\" * j) % 100,
        CASE WHEN (u.\"Id\" + j) % 2 = 0 THEN (u.\"Id\" * 7 + j) % 100 END, (u.\"Id\" * j) % 5000, datetime('now', '-' || ((u.\"Id\" + j) % 40) || ' days'),
        CASE WHEN (u.\"Id\" + j) % 3 = 0 THEN datetime('now', '-' || ((u.\"Id\" + j) % 80) || ' days') END, datetime('now', '-' || ((u.\"Id\" * j) % 30) || ' days')
        FROM users u, k;"
  echo "ANALYZE;"
} | sqlite3 /tmp/$DB.sqlite
echo "SQLite: same data, ms per statement, wall clock (CPU time of the sqlite3 process in brackets: less sensitive to a busy machine):"
queries "datetime('now', '-7 days')" "datetime('now', '-7 days')" "datetime('now', '-84 days')" > /tmp/$DB.sql
for r in $(seq "$ROUNDS"); do
  { echo '.timer on'; cat /tmp/$DB.sql; } | sqlite3 /tmp/$DB.sqlite 2>&1 | grep 'Run Time' | awk '{printf "%.0f (%.0f) ", $4 * 1000, ($6 + $8) * 1000} END {print ""}'
done
rm -f /tmp/$DB.sql
