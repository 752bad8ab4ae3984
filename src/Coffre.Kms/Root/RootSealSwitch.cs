namespace Coffre.Kms.Root;

/// <summary>
/// The files of a root migration beside <c>root.seal</c> (docs/operations.md, "Moving to another root"):
/// <c>root.seal.next</c>, the new root's seal, exists from the start of a migration until its switch; the switch keeps
/// the old seal as <c>root.seal.previous</c>, then renames the new seal over <c>root.seal</c> (one atomic rename: the
/// commit point), and the old seal is deleted once the migration is recorded as done.
/// </summary>
public static class RootSealSwitch
{
    public const string SealFileName = "root.seal";
    public const string NextFileName = "root.seal.next";
    public const string PreviousFileName = "root.seal.previous";

    public static string NextPath(string dataDirectory) => Path.Combine(dataDirectory, NextFileName);
    public static string PreviousPath(string dataDirectory) => Path.Combine(dataDirectory, PreviousFileName);

    /// <summary>Keeps the old seal as root.seal.previous, then renames root.seal.next over root.seal.</summary>
    public static void Switch(string dataDirectory)
    {
        var seal = Path.Combine(dataDirectory, SealFileName);
        AtomicFile.Replace(PreviousPath(dataDirectory), File.ReadAllBytes(seal));
        AtomicFile.Move(NextPath(dataDirectory), seal);
    }

    /// <summary>Deletes root.seal.previous once the switch is done (the new seal is root.seal).</summary>
    public static void Finish(string dataDirectory)
    {
        if (File.Exists(NextPath(dataDirectory)))
            throw new InvalidOperationException("The migration has not switched to the new seal yet.");
        File.Delete(PreviousPath(dataDirectory));
    }
}
