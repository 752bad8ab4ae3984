using Coffre.Objects.Catalog;
using Coffre.Storage.Placement;

namespace Coffre.Objects.Placement;

/// <summary>The blobs of an object as the catalog knows them (each part, with its ciphertext length and header, the optional rewrap sidecar and the manifest): what repair checks and migration copies.</summary>
public static class ObjectBlobs
{
    public static List<RepairItem> Of(ObjectRecord record)
    {
        var items = record.Parts.Select(p => new RepairItem(p.Blob, p.CipherSize, p.Header)).ToList();
        if (record.Parts.Count > 0)
        {
            items.Add(new RepairItem(BlobMetadata.SidecarKey(record.Parts[0].Blob), null, [], OptionalAnnex: true));
            // Optional too: versions written before manifests existed have none.
            items.Add(new RepairItem(Manifests.ObjectManifest.KeyOf(record.Parts[0].Blob), null, [], OptionalAnnex: true));
        }
        return items;
    }
}
