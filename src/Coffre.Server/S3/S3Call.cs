using Coffre.Kms.Access;
using Coffre.Objects;
using Microsoft.AspNetCore.Http;

namespace Coffre.Server.S3;

/// <summary>One S3 request: who sent it (an access key, or nobody: anonymous), what it names, and its verified body.</summary>
public sealed class S3Call
{
    public required HttpContext Http { get; init; }
    /// <summary>The access key id; <see cref="Access.S3Authorizer.AnonymousPrincipal"/> for an anonymous request.</summary>
    public required string Principal { get; init; }

    /// <summary>A request without a signature (no Authorization header, no presigned query): it has no grants.</summary>
    public bool IsAnonymous { get; init; }

    /// <summary>Decides ACLs, policies and the public access block (<see cref="Access.S3Authorizer"/>).</summary>
    public required Access.S3Authorizer Authorizer { get; init; }
    public required string? Bucket { get; init; }
    public required string? Key { get; init; }

    /// <summary>The request body, already de-chunked and checked against its signature as it is read.</summary>
    public required Stream Body { get; init; }

    /// <summary>The plaintext length, from x-amz-decoded-content-length or Content-Length.</summary>
    public required long? BodyLength { get; init; }

    /// <summary>Trailing headers of an aws-chunked body (x-amz-checksum-*), available once the body has been read.</summary>
    public required Func<IReadOnlyDictionary<string, string>> Trailers { get; init; }

    /// <summary>The principal's grants (ListBuckets shows the buckets it may read or write; a copy needs read on its source).</summary>
    public required AccessGrants Access { get; init; }

    public required ObjectStore Store { get; init; }

    /// <summary>The server-side-encryption headers: requests parsed and authorized, answers written.</summary>
    public required ServerSideEncryption Sse { get; init; }

    /// <summary>The buckets' placement, when backends are configured with policies (asked before a bucket is created).</summary>
    public Storage.Placement.BucketPlacement? Placement { get; init; }

    public HttpRequest Request => Http.Request;
    public HttpResponse Response => Http.Response;
    public CancellationToken Aborted => Http.RequestAborted;

    public string? Query(string name) => Request.Query.TryGetValue(name, out var v) ? v.ToString() : null;
    public bool HasQuery(string name) => Request.Query.ContainsKey(name);
    public string? Header(string name) => Request.Headers.TryGetValue(name, out var v) ? v.ToString() : null;

    public string RequireBucket() => Bucket ?? throw new S3Exception(S3Error.InvalidRequest, "This operation needs a bucket.");
    public string RequireKey() => Key ?? throw new S3Exception(S3Error.InvalidRequest, "This operation needs an object key.");
}
