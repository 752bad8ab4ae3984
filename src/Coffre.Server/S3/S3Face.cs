using System.Diagnostics;
using System.Globalization;
using Coffre.Crypto;
using Coffre.Kms.Access;
using Coffre.Objects;
using Coffre.Server.Auth;
using Coffre.Server.Observability;
using Coffre.Server.S3.Access;
using Coffre.Server.Signing;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.Logging;

namespace Coffre.Server.S3;

/// <summary>
/// The S3 REST face: routes an authenticated (or anonymous) request to its operation, and answers every failure
/// as S3 XML with the right status. Path-style addressing (/bucket/key).
/// </summary>
/// <param name="accountId">The deployment's account (Coffre:KmsAccountId), owner of every bucket: what x-amz-expected-bucket-owner must name.</param>
/// <param name="blockPublicAccess">Coffre:S3:BlockPublicAccess: the operator's public access block over every bucket.</param>
public sealed class S3Face(ObjectStore store, AccessKeyDirectory accessKeys, Metrics metrics, ILogger<S3Face> log, string region,
    ServerSideEncryption sse, string accountId, Storage.Placement.BucketPlacement? placement = null, bool blockPublicAccess = true)
{
    private readonly S3Authorizer _authorizer = new(store, accountId, blockPublicAccess);

    /// <summary>
    /// A request with no signature at all (no Authorization header, no presigned query parameters): S3 serves it as
    /// anonymous where an ACL or bucket policy allows (<see cref="S3Authorizer"/>). Any attempt at signing is verified instead.
    /// </summary>
    public static bool IsAnonymous(HttpRequest request) =>
        !request.Headers.ContainsKey("Authorization")
        && !request.Query.ContainsKey("X-Amz-Signature") && !request.Query.ContainsKey("X-Amz-Credential")
        && !request.Query.ContainsKey("Signature") && !request.Query.ContainsKey("AWSAccessKeyId");

    /// <summary>Requests served as anonymous (coffre_s3_anonymous_requests_total), whatever their answer.</summary>
    public long AnonymousRequests => Interlocked.Read(ref _anonymousRequests);

    private long _anonymousRequests;

    /// <param name="auth">The verified signature; null for an anonymous request (<see cref="IsAnonymous"/>).</param>
    /// <param name="hostBucket">The bucket a virtual-hosted Host named (Coffre:Domains), else null: path style.</param>
    public async Task HandleAsync(HttpContext http, SigV4AuthContext? auth, string? hostBucket = null)
    {
        var started = Stopwatch.GetTimestamp();
        var requestId = NewRequestId();
        http.Response.Headers["x-amz-request-id"] = requestId;
        var operation = "Unknown";
        var code = "OK";
        var bucketAndKey = "";
        try
        {
            var (bucket, key) = S3Uri.ParsePath(http, hostBucket);
            bucketAndKey = $"{bucket}/{key}";
            // The placement layer learns the bucket of the blobs this request writes (blob keys do not name it).
            using var placementScope = Storage.Placement.PlacementScope.Enter(bucket);
            // Revoked between the signature check and here: no grants. Anonymous: none, and S3Authorizer decides.
            var access = auth is null ? AccessGrants.None : accessKeys.Find(auth.AccessKeyId)?.Grants ?? AccessGrants.None;
            if (auth is null) Interlocked.Increment(ref _anonymousRequests);
            else if (bucket is null ? !access.HasBucketGrant : !access.MaySeeBucket(bucket))
                throw new S3Exception(S3Error.AccessDenied);
            var body = auth?.WrapBody(http.Request.Body) ?? http.Request.Body;
            long received = 0;
            var counting = new Objects.Streams.ObservedReadStream(body, chunk => received += chunk.Length, leaveOpen: true);
            var call = new S3Call
            {
                Http = http,
                Principal = auth?.AccessKeyId ?? S3Authorizer.AnonymousPrincipal,
                IsAnonymous = auth is null,
                Authorizer = _authorizer,
                Bucket = bucket,
                Key = key,
                Body = counting,
                BodyLength = auth?.DecodedContentLength ?? http.Request.ContentLength,
                Trailers = () => body is AwsChunkedDecodingStream chunked ? chunked.Trailers : new Dictionary<string, string>(),
                Access = access,
                Store = store,
                Sse = sse,
                Placement = placement,
            };
            operation = Route(call, out var handler);
            BucketOwnerCondition.Check(call, accountId);
            if (!CustomerKeyOperations.Contains(operation)) RefuseCustomerKeys(call);
            if (auth is not null && bucket is not null && !(ReadOperations.Contains(operation) ? access.MayReadBucket(bucket) : access.MayWriteBucket(bucket)))
                throw new S3Exception(S3Error.AccessDenied);
            await _authorizer.AuthorizeAsync(call, operation).ConfigureAwait(false);
            await handler().ConfigureAwait(false);
            metrics.BytesIn(received);
            code = http.Response.StatusCode.ToString(CultureInfo.InvariantCulture);
        }
        catch (S3Exception e)
        {
            code = e.Error.Code;
            await WriteErrorAsync(http, e.Error, e.Message, requestId, e.Extra, e.Headers).ConfigureAwait(false);
        }
        catch (ObjectStoreException e)
        {
            var error = S3ErrorMap.From(e.Error);
            code = error.Code;
            if (e.Error == ObjectError.IntegrityFailure) IntegrityFailure(operation, bucketAndKey, e.Message);
            if (e.Error == ObjectError.BackendUnavailable)
            {
                Interlocked.Increment(ref _backendUnavailable);
                log.LogWarning("Storage backend unavailable during {Operation} of {Object}: {Message}", operation, bucketAndKey, e.Message);
            }
            if (e.Error == ObjectError.CatalogUnavailable)
                log.LogWarning("Object catalog unavailable during {Operation} of {Object}: {Message}", operation, bucketAndKey, e.InnerException?.Message);
            await WriteErrorAsync(http, error, e.Message, requestId, null).ConfigureAwait(false);
        }
        catch (Storage.Placement.PlacementException e)
        {
            var error = S3ErrorMap.From(e);
            code = error.Code;
            await WriteErrorAsync(http, error, e.Message, requestId, null).ConfigureAwait(false);
        }
        catch (SigV4Exception e)
        {
            code = e.Error.ToS3Code();
            await WriteErrorAsync(http, new S3Error(code, e.Error.ToS3HttpStatus(), e.Message), e.Message, requestId, null).ConfigureAwait(false);
        }
        catch (AuthenticationFailedException e)
        {
            code = "IntegrityFailure";
            IntegrityFailure(operation, bucketAndKey, e.Message);
            await WriteErrorAsync(http, S3Error.IntegrityFailure, e.Message, requestId, null).ConfigureAwait(false);
        }
        catch (ResponseAbortedException e)
        {
            code = "Aborted";
            if (e.InnerException is AuthenticationFailedException or ObjectStoreException { Error: ObjectError.IntegrityFailure })
                IntegrityFailure(operation, bucketAndKey, e.InnerException.Message);
            else
                log.LogError("Response aborted during {Operation}: {Message}", operation, e.InnerException?.Message);
        }
        catch (BadHttpRequestException e) when (!http.RequestAborted.IsCancellationRequested)
        {
            // Kestrel's verdict on the request's framing: the client's mistake, answered and logged without a stack trace.
            var error = e.StatusCode == StatusCodes.Status408RequestTimeout ? S3Error.RequestTimeout : S3Error.MalformedBody;
            code = error.Code;
            log.LogInformation("Malformed request body during {Operation}: {Message}", operation, e.Message);
            await WriteErrorAsync(http, error, $"{error.Message} ({e.Message})", requestId, null).ConfigureAwait(false);
        }
        catch (Exception e) when (e is BadHttpRequestException or OperationCanceledException && http.RequestAborted.IsCancellationRequested)
        {
            code = "ClientAborted";
        }
        catch (Exception e)
        {
            // A bug, not a client error: logged for operators, answered as S3's generic InternalError
            // (the exception text may name internals; it never reaches the client).
            code = S3Error.InternalError.Code;
            log.LogError(e, "Unexpected failure during {Operation}", operation);
            await WriteErrorAsync(http, S3Error.InternalError, S3Error.InternalError.Message, requestId, null).ConfigureAwait(false);
        }
        finally
        {
            metrics.Request(MetricFace.S3, operation, code, Stopwatch.GetElapsedTime(started));
        }
    }

    /// <summary>Reads that found an object's ciphertext missing or damaged at the backend (coffre_integrity_failures_total).</summary>
    public long IntegrityFailures => Interlocked.Read(ref _integrityFailures);

    /// <summary>Requests failed by a storage backend outage (coffre_backend_unavailable_total).</summary>
    public long BackendUnavailable => Interlocked.Read(ref _backendUnavailable);

    private long _integrityFailures;
    private long _backendUnavailable;

    /// <summary>Data lost or altered at the provider: logged (no stack trace: the message says what and where) and counted for alerting.</summary>
    private void IntegrityFailure(string operation, string bucketAndKey, string message)
    {
        Interlocked.Increment(ref _integrityFailures);
        log.LogError("Integrity failure during {Operation} of {Object}: {Message}", operation, bucketAndKey, message);
    }

    private string Route(S3Call call, out Func<Task> handler)
    {
        var method = call.Request.Method;
        var owner = call.Principal;

        if (call.Bucket is null)
        {
            if (method == "GET") { handler = () => BucketOperations.ListBucketsAsync(call, owner); return "ListBuckets"; }
            throw new S3Exception(S3Error.MethodNotAllowed);
        }
        if (call.Key is null)
        {
            var sub = SubresourceRoutes.Find(call, SubresourceRoutes.Bucket);
            switch (method, sub)
            {
                case ("GET", "uploads"): handler = () => MultipartOperations.ListUploadsAsync(call, owner); return "ListMultipartUploads";
                case ("GET", "location"): handler = () => BucketOperations.LocationAsync(call, region); return "GetBucketLocation";
                case ("GET", "versioning"): handler = () => VersioningOperations.GetVersioningAsync(call); return "GetBucketVersioning";
                case ("PUT", "versioning"): handler = () => VersioningOperations.PutVersioningAsync(call); return "PutBucketVersioning";
                case ("GET", "versions"): handler = () => VersioningOperations.ListVersionsAsync(call, owner); return "ListObjectVersions";
                case ("GET", null): handler = () => BucketOperations.ListObjectsAsync(call, owner); return call.Query("list-type") == "2" ? "ListObjectsV2" : "ListObjects";
                case ("HEAD", null): handler = () => BucketOperations.HeadAsync(call, region); return "HeadBucket";
                case ("PUT", null): handler = () => BucketOperations.CreateAsync(call, region); return "CreateBucket";
                case ("DELETE", null): handler = () => BucketOperations.DeleteAsync(call); return "DeleteBucket";
                case ("POST", "delete"): handler = () => BucketOperations.DeleteObjectsAsync(call); return "DeleteObjects";
                case ("GET", "encryption"): handler = () => BucketEncryptionOperations.GetAsync(call); return "GetBucketEncryption";
                case ("PUT", "encryption"): handler = () => BucketEncryptionOperations.PutAsync(call); return "PutBucketEncryption";
                case ("DELETE", "encryption"): handler = () => BucketEncryptionOperations.DeleteAsync(call); return "DeleteBucketEncryption";
                case ("GET", "tagging"): handler = () => TaggingOperations.GetBucketTaggingAsync(call); return "GetBucketTagging";
                case ("PUT", "tagging"): handler = () => TaggingOperations.PutBucketTaggingAsync(call); return "PutBucketTagging";
                case ("DELETE", "tagging"): handler = () => TaggingOperations.DeleteBucketTaggingAsync(call); return "DeleteBucketTagging";
                case ("GET", "object-lock"): handler = () => ObjectLockOperations.GetConfigurationAsync(call); return "GetObjectLockConfiguration";
                case ("PUT", "object-lock"): handler = () => ObjectLockOperations.PutConfigurationAsync(call); return "PutObjectLockConfiguration";
                case ("GET", "lifecycle"): handler = () => LifecycleOperations.GetAsync(call); return "GetBucketLifecycleConfiguration";
                case ("PUT", "lifecycle"): handler = () => LifecycleOperations.PutAsync(call); return "PutBucketLifecycleConfiguration";
                case ("DELETE", "lifecycle"): handler = () => LifecycleOperations.DeleteAsync(call); return "DeleteBucketLifecycle";
                case ("GET", "acl"): handler = () => AclOperations.GetBucketAclAsync(call); return "GetBucketAcl";
                case ("PUT", "acl"): handler = () => AclOperations.PutBucketAclAsync(call); return "PutBucketAcl";
                case ("GET", "policy"): handler = () => PolicyOperations.GetAsync(call); return "GetBucketPolicy";
                case ("PUT", "policy"): handler = () => PolicyOperations.PutAsync(call); return "PutBucketPolicy";
                case ("DELETE", "policy"): handler = () => PolicyOperations.DeleteAsync(call); return "DeleteBucketPolicy";
                case ("GET", "policyStatus"): handler = () => PolicyOperations.GetStatusAsync(call); return "GetBucketPolicyStatus";
                case ("GET", "publicAccessBlock"): handler = () => PublicAccessBlockOperations.GetAsync(call); return "GetPublicAccessBlock";
                case ("PUT", "publicAccessBlock"): handler = () => PublicAccessBlockOperations.PutAsync(call); return "PutPublicAccessBlock";
                case ("DELETE", "publicAccessBlock"): handler = () => PublicAccessBlockOperations.DeleteAsync(call); return "DeletePublicAccessBlock";
                case ("GET", "ownershipControls"): handler = () => OwnershipOperations.GetAsync(call); return "GetBucketOwnershipControls";
                case ("PUT", "ownershipControls"): handler = () => OwnershipOperations.PutAsync(call); return "PutBucketOwnershipControls";
                case ("DELETE", "ownershipControls"): handler = () => OwnershipOperations.DeleteAsync(call); return "DeleteBucketOwnershipControls";
                case (_, not null): throw SubresourceRoutes.NotImplemented(sub, bucket: true);
            }
            throw new S3Exception(S3Error.MethodNotAllowed);
        }
        var objectSub = SubresourceRoutes.Find(call, SubresourceRoutes.Object);
        var uploadId = call.Query("uploadId");
        switch (method, objectSub)
        {
            case ("GET", "uploadId"): handler = () => MultipartOperations.ListPartsAsync(call, uploadId!, owner); return "ListParts";
            case ("GET", "tagging"): handler = () => TaggingOperations.GetObjectTaggingAsync(call); return "GetObjectTagging";
            case ("PUT", "tagging"): handler = () => TaggingOperations.PutObjectTaggingAsync(call); return "PutObjectTagging";
            case ("DELETE", "tagging"): handler = () => TaggingOperations.DeleteObjectTaggingAsync(call); return "DeleteObjectTagging";
            case ("GET", "attributes"): handler = () => AttributesOperations.GetAsync(call); return "GetObjectAttributes";
            case ("GET", "retention"): handler = () => ObjectLockOperations.GetRetentionAsync(call); return "GetObjectRetention";
            case ("PUT", "retention"): handler = () => ObjectLockOperations.PutRetentionAsync(call); return "PutObjectRetention";
            case ("GET", "legal-hold"): handler = () => ObjectLockOperations.GetLegalHoldAsync(call); return "GetObjectLegalHold";
            case ("PUT", "legal-hold"): handler = () => ObjectLockOperations.PutLegalHoldAsync(call); return "PutObjectLegalHold";
            case ("GET", null): handler = () => ObjectOperations.GetAsync(call, headOnly: false); return "GetObject";
            case ("HEAD", null): handler = () => ObjectOperations.GetAsync(call, headOnly: true); return "HeadObject";
            case ("PUT", "uploadId"): handler = () => MultipartOperations.UploadPartAsync(call, uploadId!); return call.Header("x-amz-copy-source") is null ? "UploadPart" : "UploadPartCopy";
            case ("PUT", null): handler = () => ObjectOperations.PutAsync(call); return call.Header("x-amz-copy-source") is null ? "PutObject" : "CopyObject";
            case ("DELETE", "uploadId"): handler = () => MultipartOperations.AbortAsync(call, uploadId!); return "AbortMultipartUpload";
            case ("DELETE", null): handler = () => ObjectOperations.DeleteAsync(call); return "DeleteObject";
            case ("POST", "uploads"): handler = () => MultipartOperations.CreateAsync(call); return "CreateMultipartUpload";
            case ("POST", "uploadId"): handler = () => MultipartOperations.CompleteAsync(call, uploadId!); return "CompleteMultipartUpload";
            case ("GET", "acl"): handler = () => AclOperations.GetObjectAclAsync(call); return "GetObjectAcl";
            case ("PUT", "acl"): handler = () => AclOperations.PutObjectAclAsync(call); return "PutObjectAcl";
            case (_, not null): throw SubresourceRoutes.NotImplemented(objectSub, bucket: false);
        }
        throw new S3Exception(S3Error.MethodNotAllowed);
    }

    /// <summary>
    /// Every name <see cref="Route"/> returns, plus "Authenticate" (a request refused before routing) and "Unknown"
    /// (refused while routing): the closed set of the S3 face's <c>operation</c> metric label.
    /// </summary>
    public static readonly IReadOnlyList<string> OperationNames =
        ["Authenticate", "Unknown", "ListBuckets", "ListMultipartUploads", "GetBucketLocation", "GetBucketVersioning", "ListObjects", "ListObjectsV2",
         "HeadBucket", "CreateBucket", "DeleteBucket", "DeleteObjects", "ListParts", "GetObjectTagging", "GetObject", "HeadObject", "UploadPart",
         "UploadPartCopy", "PutObject", "CopyObject", "AbortMultipartUpload", "DeleteObject", "CreateMultipartUpload", "CompleteMultipartUpload",
         "PutBucketVersioning", "ListObjectVersions", "GetBucketEncryption", "PutBucketEncryption", "DeleteBucketEncryption",
         "GetBucketTagging", "PutBucketTagging", "DeleteBucketTagging", "PutObjectTagging", "DeleteObjectTagging", "GetObjectAttributes",
         "GetObjectLockConfiguration", "PutObjectLockConfiguration", "GetObjectRetention", "PutObjectRetention", "GetObjectLegalHold", "PutObjectLegalHold",
         "GetBucketLifecycleConfiguration", "PutBucketLifecycleConfiguration", "DeleteBucketLifecycle",
         "GetBucketAcl", "PutBucketAcl", "GetObjectAcl", "PutObjectAcl", "GetBucketPolicy", "PutBucketPolicy", "DeleteBucketPolicy",
         "GetBucketPolicyStatus", "GetPublicAccessBlock", "PutPublicAccessBlock", "DeletePublicAccessBlock",
         "GetBucketOwnershipControls", "PutBucketOwnershipControls", "DeleteBucketOwnershipControls"];

    /// <summary>The S3 face's result codes besides its error table (<see cref="S3Error.Codes"/>): the <c>code</c> metric label.</summary>
    public static IEnumerable<string> ResultCodes =>
        S3Error.Codes.Concat(Enum.GetValues<SigV4Error>().Select(e => e.ToS3Code())).Concat(["Aborted", "BackendError", "ClientAborted", "IntegrityFailure"]);

    /// <summary>The operations that take a customer key (SSE-C); CompleteMultipartUpload needs none (its parts carried it) but S3 accepts it.</summary>
    private static readonly HashSet<string> CustomerKeyOperations = new(StringComparer.Ordinal)
    {
        "PutObject", "GetObject", "HeadObject", "CopyObject", "CreateMultipartUpload", "UploadPart", "UploadPartCopy", "CompleteMultipartUpload",
    };

    /// <summary>
    /// SSE-C (x-amz-server-side-encryption-customer-*, and the copy source's) on any other operation is refused, never
    /// served with the customer's key ignored — a client would believe its data needs its key.
    /// </summary>
    private static void RefuseCustomerKeys(S3Call call)
    {
        foreach (var (name, _) in call.Request.Headers)
            if (name.StartsWith("x-amz-server-side-encryption-customer-", StringComparison.OrdinalIgnoreCase)
                || name.StartsWith("x-amz-copy-source-server-side-encryption-customer-", StringComparison.OrdinalIgnoreCase))
                throw new S3Exception(S3Error.NotImplemented,
                    "This operation takes no customer-provided key (SSE-C): send the request without the SSE-C headers.");
    }

    /// <summary>
    /// The operations a read grant allows (GET, HEAD, listings). Every other operation on a bucket, including any
    /// added later, needs the write grant: PUT, DELETE, multipart uploads and their listings, bucket creation and
    /// deletion, copy destinations (a copy's source is checked for read by the copy itself).
    /// </summary>
    private static readonly HashSet<string> ReadOperations = new(StringComparer.Ordinal)
    {
        "GetObject", "HeadObject", "GetObjectTagging", "ListObjects", "ListObjectsV2", "HeadBucket", "GetBucketLocation", "GetBucketVersioning",
        "ListObjectVersions", "GetBucketEncryption",
        "GetBucketTagging", "GetObjectAttributes",
        "GetObjectLockConfiguration", "GetObjectRetention", "GetObjectLegalHold", "GetBucketLifecycleConfiguration",
        "GetBucketAcl", "GetObjectAcl", "GetBucketPolicy", "GetBucketPolicyStatus", "GetPublicAccessBlock", "GetBucketOwnershipControls",
    };

    /// <summary>The x-amz-request-id of a response: random, so it links a client's error to the server log and nothing else.</summary>
    public static string NewRequestId() => Convert.ToHexString(System.Security.Cryptography.RandomNumberGenerator.GetBytes(8));

    public static async Task WriteErrorAsync(HttpContext http, S3Error error, string message, string requestId, IReadOnlyDictionary<string, string>? extra,
        IReadOnlyDictionary<string, string>? headers = null)
    {
        if (http.Response.HasStarted)
        {
            http.Abort();
            return;
        }
        http.Response.Clear();
        http.Response.Headers["x-amz-request-id"] = requestId;
        http.Response.StatusCode = error.Status;
        if (headers is not null)
            foreach (var (name, value) in headers) http.Response.Headers[name] = value;
        if (error.Status == 304 || HttpMethods.IsHead(http.Request.Method))
        {
            if (error.Status != 304) http.Response.Headers["x-amz-error-code"] = error.Code;
            return;
        }
        http.Response.ContentType = "application/xml";
        var resource = http.Features.Get<IHttpRequestFeature>()?.RawTarget ?? http.Request.Path.Value;
        await S3Xml.WriteAsync(http.Response.Body, "Error", w =>
        {
            w.WriteElementString("Code", error.Code);
            w.WriteElementString("Message", message);
            if (extra is not null)
                foreach (var (k, v) in extra) w.WriteElementString(k, v);
            w.WriteElementString("Resource", resource?.Split('?')[0]);
            w.WriteElementString("RequestId", requestId);
        }, s3Namespace: false).ConfigureAwait(false);
    }
}
