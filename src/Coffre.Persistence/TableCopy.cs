using System.Data.Common;

namespace Coffre.Persistence;

/// <summary>A table copied row for row: its name on each side, its columns (the same on both), and how many of the first
/// columns make its primary key (the order in which it is read, page by page).</summary>
public sealed record CopiedTable(string Source, string Target, IReadOnlyList<string> Columns, int KeyColumns);

/// <summary>
/// Copies a table's rows as they are from one database to another over ADO.NET alone (SQLite's keys.db into PostgreSQL
/// for `coffre store migrate`): the same texts, numbers and bytes, so hashes computed over them stay valid. Each page is
/// one transaction of the target, and a row the target already holds (same key) is left alone, so running it again
/// after an interruption copies only the rest. Both dialects understand the SQL used (row-value comparison, LIMIT,
/// INSERT … ON CONFLICT DO NOTHING). The source must not change meanwhile; the caller makes sure of it.
/// </summary>
public static class TableCopy
{
    // 1,000 rows of at most a dozen columns: well below PostgreSQL's 65,535 parameters per statement.
    private const int Page = 1000;

    /// <summary>Number of rows of <paramref name="table"/> in <paramref name="source"/> (for progress).</summary>
    public static async Task<long> CountAsync(DbConnection source, CopiedTable table, CancellationToken ct = default)
    {
        await using var cmd = source.CreateCommand();
        cmd.CommandText = $"SELECT count(*) FROM {table.Source}";
        return Convert.ToInt64(await cmd.ExecuteScalarAsync(ct).ConfigureAwait(false), System.Globalization.CultureInfo.InvariantCulture);
    }

    /// <summary>Copies every row; reports the rows read so far after each page; returns how many the target did not hold yet.</summary>
    public static async Task<long> RunAsync(DbConnection source, DbConnection target, CopiedTable table, IProgress<long>? progress = null,
        CancellationToken ct = default)
    {
        var columns = string.Join(", ", table.Columns);
        var key = string.Join(", ", table.Columns.Take(table.KeyColumns));
        var keyParameters = string.Join(", ", Enumerable.Range(0, table.KeyColumns).Select(i => $"@k{i}"));
        object?[]? last = null;
        long read = 0, inserted = 0;
        var rows = new List<object?[]>(Page);
        while (true)
        {
            rows.Clear();
            await using (var select = source.CreateCommand())
            {
                select.CommandText = $"SELECT {columns} FROM {table.Source}" +
                    (last is null ? "" : $" WHERE ({key}) > ({keyParameters})") + $" ORDER BY {key} LIMIT {Page}";
                for (var i = 0; last is not null && i < table.KeyColumns; i++) Add(select, $"@k{i}", last[i]);
                await using var reader = await select.ExecuteReaderAsync(ct).ConfigureAwait(false);
                while (await reader.ReadAsync(ct).ConfigureAwait(false))
                {
                    var row = new object?[table.Columns.Count];
                    reader.GetValues(row!);
                    rows.Add(row);
                }
            }
            if (rows.Count == 0) break;
            inserted += await InsertAsync(target, table, columns, rows, ct).ConfigureAwait(false);
            read += rows.Count;
            last = rows[^1];
            progress?.Report(read);
            if (rows.Count < Page) break;
        }
        return inserted;
    }

    private static async Task<int> InsertAsync(DbConnection target, CopiedTable table, string columns, List<object?[]> rows, CancellationToken ct)
    {
        await using var tx = await target.BeginTransactionAsync(ct).ConfigureAwait(false);
        await using var insert = target.CreateCommand();
        insert.Transaction = tx;
        var values = new System.Text.StringBuilder();
        for (var r = 0; r < rows.Count; r++)
        {
            values.Append(r == 0 ? "(" : ", (");
            for (var c = 0; c < table.Columns.Count; c++)
            {
                values.Append(c == 0 ? "" : ", ").Append("@p").Append(r).Append('_').Append(c);
                Add(insert, $"@p{r}_{c}", rows[r][c]);
            }
            values.Append(')');
        }
        insert.CommandText = $"INSERT INTO {table.Target} ({columns}) VALUES {values} ON CONFLICT DO NOTHING";
        var count = await insert.ExecuteNonQueryAsync(ct).ConfigureAwait(false);
        await tx.CommitAsync(ct).ConfigureAwait(false);
        return count;
    }

    private static void Add(DbCommand command, string name, object? value)
    {
        var p = command.CreateParameter();
        p.ParameterName = name;
        p.Value = value ?? DBNull.Value;
        command.Parameters.Add(p);
    }
}
