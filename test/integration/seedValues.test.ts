/**
 * The logical copy (seedMethod dump) writes back every value exactly: a table holding the edge values of many column
 * types (FLOAT at full precision, DOUBLE needing 17 digits, integers at their limits, DECIMAL of 65 digits, YEAR 0000,
 * zero dates, negative TIME, strings with quotes, NUL,
 * backslashes and multi-byte characters whose second byte is a backslash, the text 'NULL' next to NULL, BIT(64),
 * BIGINT UNSIGNED, geometry, JSON) is seeded into a replica, and every table's CHECKSUM TABLE equals the source's.
 * Titles end with the live server's version.
 */
import { describe, it, before, after } from "node:test";
import assert from "node:assert/strict";
import { MATRIX, serverTitle, startCluster, runbookSpecs, type MariaCluster, type MariaServer } from "../support/servers";
import { inputsFor, endpointOf } from "../support/replicationInputs";
import { purgeBinaryLogs, tableChecksums } from "../support/seedData";
import { replicationProvider as provider } from "../../components/replication/provider";
import { seedLog } from "../../components/replication/seed";
import type { ReplicationInputs, ReplicationState } from "../../components/replication/types";

const TABLES = ["edge.numbers", "edge.texts", "edge.times"];

const checksums = (server: MariaServer) => tableChecksums(server, TABLES);

for (const flavor of MATRIX) {
    const T = serverTitle(flavor);
    describe(`the logical copy writes every value back exactly ${T}`, () => {
        let cluster: MariaCluster;
        let state: ReplicationState;
        const write = seedLog.write;
        const inputs = (names: string[], o: Partial<ReplicationInputs> = {}) =>
            inputsFor(cluster, { replicas: names.map((n) => endpointOf(cluster.byName(n))), seedMethod: "dump", ...o });

        before(async () => {
            seedLog.write = () => undefined;
            cluster = await startCluster(flavor, runbookSpecs(3));
            state = (await provider.create!(inputs(["db002"]))).outs;
        });
        after(async () => {
            seedLog.write = write;
            await cluster?.destroy();
        });

        it(`FLOAT, DOUBLE, dates, strings of several character sets and bytes arrive with equal checksums ${T}`, async () => {
            const s = cluster.source;
            await s.query(
                "SET SESSION sql_mode = ''",
                "CREATE DATABASE edge",
                "CREATE TABLE edge.numbers (id INT PRIMARY KEY, f FLOAT, d DOUBLE, f74 FLOAT(7,4), u BIGINT UNSIGNED, b BIT(64), m DECIMAL(65,30), " +
                    "s BIGINT, t TINYINT, z INT(5) ZEROFILL, y YEAR) ENGINE=InnoDB",
                "INSERT INTO edge.numbers VALUES (1, 3.1415927, 0.1e0 + 0.2e0, 3.14159, 18446744073709551615, b'1111111111111111111111111111111111111111111111111111111111111111', -12345678901234567890123456789012345.123456789012345678901234567890, " +
                    "-9223372036854775808, -128, 7, 0)," +
                    "(2, 16777217, 1e0 / 3e0, -2.5, 0, b'0', 0, 9223372036854775807, 127, 0, 1901), (3, 0.1, 5e-324, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL), " +
                    "(4, -3.4028234e38, 1.7976931348623157e308, 0, 1, b'1', 1, -1, 0, 4294967295, 2155)",
                "CREATE TABLE edge.texts (id INT PRIMARY KEY, u VARCHAR(20) CHARACTER SET utf8mb4, l VARCHAR(20) CHARACTER SET latin1, sj VARCHAR(20) CHARACTER SET sjis, gb VARCHAR(20) CHARACTER SET gbk, " +
                    "bin VARBINARY(20), bl BLOB, e ENUM('a','b'), st SET('x','y'), g GEOMETRY) ENGINE=InnoDB",
                "INSERT INTO edge.texts VALUES (1, 'NULL', 'it''s \\\\ back', CONVERT(X'955C' USING sjis), CONVERT(X'815C' USING gbk), X'00275C1A', X'', 'b', 'x,y', ST_GeomFromText('POINT(1 2)'))," +
                    "(2, NULL, NULL, NULL, NULL, NULL, NULL, NULL, '', NULL), (3, CONCAT('a', CHAR(0), 'b\\'c\\\\', CHAR(26), X'F09F9880'), 'ü', CONVERT(X'955C5C' USING sjis), 'q', 'NULL', X'5C', 'a', 'y', ST_GeomFromText('LINESTRING(0 0, 1 1)'))",
                "CREATE TABLE edge.times (id INT PRIMARY KEY, dt DATETIME(6), d DATE, t TIME(3), y YEAR, ts TIMESTAMP(3) NULL) ENGINE=InnoDB",
                "INSERT INTO edge.times VALUES (1, '0000-00-00 00:00:00', '0000-00-00', '-838:59:59.000', 1901, '2038-01-19 03:14:07.999'), (2, '9999-12-31 23:59:59.999999', '1000-01-01', '-00:00:00.001', 0, NULL)",
                "FLUSH BINARY LOGS",
            );
            // Purged until only the current log is left (PURGE skips a log a replica still reads).
            await purgeBinaryLogs(s);

            const { outs } = await provider.update!("id", state, inputs(["db002", "db003"]));
            state = outs as ReplicationState;
            assert.equal(state.replicaStatus.db003.seededBy, "dump", JSON.stringify(state.replicaStatus.db003));
            assert.deepEqual(await checksums(cluster.byName("db003")), await checksums(s));
        });

        it(`a value too large for the source's max_allowed_packet as hex fails the copy naming the table, column and variable ${T}`, async () => {
            const s = cluster.source;
            const packet = Number((await s.query<{ m: string }>("SELECT @@GLOBAL.max_allowed_packet AS m"))[0].m);
            // Its hex text (two characters a byte) is larger than max_allowed_packet: HEX() returns NULL on the source.
            await s.query("CREATE DATABASE big", "CREATE TABLE big.files (id INT PRIMARY KEY, body LONGBLOB) ENGINE=InnoDB",
                `INSERT INTO big.files VALUES (1, REPEAT(X'41', ${Math.floor(packet / 2) + 1024}))`);
            await assert.rejects(provider.update!("id", state, inputs(["db002", "db003", "db004"])), /db004.*`big`\.`files`.*column body.*max_allowed_packet/s);
        });
    });
}
