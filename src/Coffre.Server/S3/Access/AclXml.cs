using System.Xml;
using System.Xml.Linq;
using Coffre.Objects.Access;

namespace Coffre.Server.S3.Access;

/// <summary>
/// S3's ACL forms: the AccessControlPolicy XML body (read and written), and the x-amz-acl / x-amz-grant-* headers.
/// A grantee ID is a canonical user: the deployment's account id (the owner of every bucket and object) or an access
/// key id; an email grantee is refused as S3 refuses it in regions without email grants.
/// </summary>
public static class AclXml
{
    public const string CannedHeader = "x-amz-acl";
    private const string Xsi = "http://www.w3.org/2001/XMLSchema-instance";
    private const int MaxBytes = 64 * 1024;
    private const int MaxGrants = 100;

    private static readonly (string Header, AclPermission Permission)[] GrantHeaders =
    [
        ("x-amz-grant-read", AclPermission.Read), ("x-amz-grant-write", AclPermission.Write), ("x-amz-grant-read-acp", AclPermission.ReadAcp),
        ("x-amz-grant-write-acp", AclPermission.WriteAcp), ("x-amz-grant-full-control", AclPermission.FullControl),
    ];

    private static readonly (string Name, AclPermission Permission)[] Permissions =
    [
        ("READ", AclPermission.Read), ("WRITE", AclPermission.Write), ("READ_ACP", AclPermission.ReadAcp),
        ("WRITE_ACP", AclPermission.WriteAcp), ("FULL_CONTROL", AclPermission.FullControl),
    ];

    /// <summary>The ACL the request's headers set (x-amz-acl, or x-amz-grant-*), or null when it sends none.</summary>
    public static AccessControlList? FromHeaders(S3Call call, string ownerId)
    {
        var canned = call.Header(CannedHeader);
        var grants = new List<AclGrant>();
        foreach (var (header, permission) in GrantHeaders)
            if (call.Header(header) is { } value)
                grants.AddRange(ParseGrantHeader(header, value).Select(g => new AclGrant(g, permission)));
        var hasGrantHeaders = GrantHeaders.Any(h => call.Header(h.Header) is not null);
        if (canned is not null && hasGrantHeaders)
            throw new S3Exception(S3Error.InvalidRequest, "Specifying both Canned ACLs and Header Grants is not allowed");
        if (canned is not null)
            return AccessControlList.Canned(canned, ownerId)
                ?? throw new S3Exception(S3Error.InvalidArgument, $"The canned ACL '{canned}' is not one of: {string.Join(", ", AccessControlList.CannedNames)}.");
        return hasGrantHeaders ? new AccessControlList(ownerId, grants) : null;
    }

    /// <summary>One x-amz-grant-* value: <c>id="…", uri="…"</c>, comma-separated.</summary>
    private static IEnumerable<AclGrantee> ParseGrantHeader(string header, string value)
    {
        foreach (var item in value.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
        {
            var eq = item.IndexOf('=');
            if (eq <= 0) throw new S3Exception(S3Error.InvalidArgument, $"{header}: '{item}' is not of the form id=\"…\" or uri=\"…\".");
            var type = item[..eq].Trim();
            var text = item[(eq + 1)..].Trim().Trim('"');
            yield return type.ToLowerInvariant() switch
            {
                "id" when text.Length > 0 => new AclGrantee(Id: text),
                "uri" => new AclGrantee(Uri: GroupUri(text)),
                "emailaddress" => throw new S3Exception(S3Error.UnresolvableGrantByEmailAddress),
                _ => throw new S3Exception(S3Error.InvalidArgument, $"{header}: '{type}' is not a grantee type (id, uri or emailAddress)."),
            };
        }
    }

    private static string GroupUri(string uri) => AccessControlList.Groups.Contains(uri) ? uri
        : throw new S3Exception(S3Error.InvalidArgument, $"Invalid group uri: '{uri}' is not one of {string.Join(", ", AccessControlList.Groups)}.");

    /// <summary>Reads an AccessControlPolicy body; anything malformed is MalformedACLError, an unknown group InvalidArgument.</summary>
    public static async Task<AccessControlList> ReadAsync(S3Call call, string ownerId)
    {
        XElement xml;
        try
        {
            xml = await S3Xml.ReadAsync(call.Body, MaxBytes, 4 * MaxGrants + 16, call.Aborted).ConfigureAwait(false);
        }
        catch (S3Exception e) when (e.Error == S3Error.MalformedXml)
        {
            throw new S3Exception(S3Error.MalformedAcl);
        }
        if (xml.Name.LocalName != "AccessControlPolicy" || xml.Children("AccessControlList").FirstOrDefault() is not { } list)
            throw new S3Exception(S3Error.MalformedAcl);
        if (xml.Children("Owner").FirstOrDefault()?.ChildValue("ID") is { } owner && owner != ownerId)
            throw new S3Exception(S3Error.AccessDenied, $"The ACL's owner must be the bucket's owner, '{ownerId}'.");
        var grants = new List<AclGrant>();
        foreach (var grant in list.Children("Grant"))
        {
            var grantee = grant.Children("Grantee").FirstOrDefault() ?? throw new S3Exception(S3Error.MalformedAcl);
            var permissionName = grant.ChildValue("Permission");
            var permission = Permissions.FirstOrDefault(p => p.Name == permissionName);
            if (permission.Name is null) throw new S3Exception(S3Error.MalformedAcl);
            AclGrantee who = grantee.ChildValue("ID") is { Length: > 0 } id ? new AclGrantee(Id: id)
                : grantee.ChildValue("URI") is { } uri ? new AclGrantee(Uri: GroupUri(uri))
                : grantee.ChildValue("EmailAddress") is not null ? throw new S3Exception(S3Error.UnresolvableGrantByEmailAddress)
                : throw new S3Exception(S3Error.MalformedAcl);
            grants.Add(new AclGrant(who, permission.Permission));
        }
        if (grants.Count > MaxGrants) throw new S3Exception(S3Error.MalformedAcl, $"An ACL holds at most {MaxGrants} grants.");
        return new AccessControlList(ownerId, grants);
    }

    public static async Task WriteAsync(S3Call call, AccessControlList acl)
    {
        call.Response.StatusCode = 200;
        call.Response.ContentType = "application/xml";
        await S3Xml.WriteAsync(call.Response.Body, "AccessControlPolicy", w =>
        {
            w.WriteStartElement("Owner");
            w.WriteElementString("ID", acl.OwnerId);
            w.WriteElementString("DisplayName", acl.OwnerId);
            w.WriteEndElement();
            w.WriteStartElement("AccessControlList");
            foreach (var grant in acl.Grants)
            {
                w.WriteStartElement("Grant");
                w.WriteStartElement("Grantee");
                w.WriteAttributeString("xmlns", "xsi", null, Xsi);
                w.WriteAttributeString("type", Xsi, grant.Grantee.Uri is null ? "CanonicalUser" : "Group");
                if (grant.Grantee.Uri is { } uri)
                {
                    w.WriteElementString("URI", uri);
                }
                else
                {
                    w.WriteElementString("ID", grant.Grantee.Id);
                    w.WriteElementString("DisplayName", grant.Grantee.Id);
                }
                w.WriteEndElement();
                w.WriteElementString("Permission", Permissions.First(p => p.Permission == grant.Permission).Name);
                w.WriteEndElement();
            }
            w.WriteEndElement();
        }).ConfigureAwait(false);
    }
}
