using Coffre.Fuzz.Targets;

namespace Coffre.Fuzz;

/// <summary>Every fuzz target, by name.</summary>
public static class FuzzTargets
{
    public static IReadOnlyList<FuzzTarget> All { get; } =
    [
        new SigV4Target(),
        new AwsChunkedTarget(),
        new S3XmlTarget(),
        new KmsJsonTarget(),
        new StreamTarget(),
        new CiphertextBlobTarget(),
        new KeyWrapTarget(),
        new SealedRootTarget(),
        new RangeHeaderTarget(),
    ];

    public static FuzzTarget? Find(string name) => All.FirstOrDefault(t => t.Name == name);
}
