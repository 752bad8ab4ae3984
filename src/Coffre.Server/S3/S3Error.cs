namespace Coffre.Server.S3;

/// <summary>An S3 error code with its HTTP status and the message S3 gives. One table, so every failure is answered the same way.</summary>
public sealed record S3Error(string Code, int Status, string Message)
{
    public static readonly S3Error AccessDenied = new("AccessDenied", 403, "Access Denied");
    public static readonly S3Error BadDigest = new("BadDigest", 400, "The Content-MD5 or checksum you specified did not match what we received.");
    public static readonly S3Error BucketAlreadyExists = new("BucketAlreadyOwnedByYou", 409, "Your previous request to create the named bucket succeeded and you already own it.");
    public static readonly S3Error BucketNotEmpty = new("BucketNotEmpty", 409, "The bucket you tried to delete is not empty.");
    public static readonly S3Error EntityTooSmall = new("EntityTooSmall", 400, "Your proposed upload is smaller than the minimum allowed object size.");
    public static readonly S3Error EntityTooLarge = new("EntityTooLarge", 400, "Your proposed upload exceeds the maximum allowed object size.");
    public static readonly S3Error IncompleteBody = new("IncompleteBody", 400, "You did not provide the number of bytes specified by the Content-Length HTTP header.");
    // Kestrel refused the request's HTTP framing (a bad chunk size, a body shorter than its Content-Length).
    public static readonly S3Error MalformedBody = new("IncompleteBody", 400, "The request body's HTTP framing is malformed or ends early.");
    public static readonly S3Error RequestTimeout = new("RequestTimeout", 400, "Your socket connection to the server was not read from or written to within the timeout period.");
    public static readonly S3Error InternalError = new("InternalError", 500, "We encountered an internal error. Please try again.");
    public static readonly S3Error InvalidAccessKeyId = new("InvalidAccessKeyId", 403, "The AWS Access Key Id you provided does not exist in our records.");
    public static readonly S3Error InvalidArgument = new("InvalidArgument", 400, "Invalid Argument");
    public static readonly S3Error InvalidBucketName = new("InvalidBucketName", 400, "The specified bucket is not valid.");
    public static readonly S3Error InvalidDigest = new("InvalidDigest", 400, "The Content-MD5 or checksum you specified is not valid.");
    public static readonly S3Error InvalidPart = new("InvalidPart", 400, "One or more of the specified parts could not be found. The part might not have been uploaded, or the specified entity tag might not have matched the part's entity tag.");
    public static readonly S3Error InvalidPartNumber = new("InvalidPartNumber", 416, "The requested partnumber is not satisfiable");
    public static readonly S3Error InvalidPartOrder = new("InvalidPartOrder", 400, "The list of parts was not in ascending order. Parts must be ordered by part number.");
    public static readonly S3Error InvalidRange = new("InvalidRange", 416, "The requested range is not satisfiable");
    public static readonly S3Error InvalidUri = new("InvalidURI", 400, "Couldn't parse the specified URI.");
    public static readonly S3Error InvalidRequest = new("InvalidRequest", 400, "Invalid Request");
    public static readonly S3Error KeyTooLong = new("KeyTooLongError", 400, "Your key is too long");
    public static readonly S3Error MetadataTooLarge = new("MetadataTooLarge", 400, "Your metadata headers exceed the maximum allowed metadata size.");
    public static readonly S3Error MalformedXml = new("MalformedXML", 400, "The XML you provided was not well-formed or did not validate against our published schema.");
    public static readonly S3Error MethodNotAllowed = new("MethodNotAllowed", 405, "The specified method is not allowed against this resource.");
    public static readonly S3Error MissingContentLength = new("MissingContentLength", 411, "You must provide the Content-Length HTTP header.");
    public static readonly S3Error NoSuchBucket = new("NoSuchBucket", 404, "The specified bucket does not exist");
    public static readonly S3Error NoSuchKey = new("NoSuchKey", 404, "The specified key does not exist.");
    public static readonly S3Error NoSuchVersion = new("NoSuchVersion", 404, "The specified version does not exist.");
    public static readonly S3Error NoSuchUpload = new("NoSuchUpload", 404, "The specified multipart upload does not exist. The upload ID might be invalid, or the multipart upload might have been aborted or completed.");
    public static readonly S3Error NotImplemented = new("NotImplemented", 501, "A header or query you provided implies functionality that is not implemented.");
    public static readonly S3Error NotModified = new("NotModified", 304, "Not Modified");
    public static readonly S3Error PreconditionFailed = new("PreconditionFailed", 412, "At least one of the preconditions you specified did not hold.");
    public static readonly S3Error RequestTimeTooSkewed = new("RequestTimeTooSkewed", 403, "The difference between the request time and the server's time is too large.");
    public static readonly S3Error SignatureDoesNotMatch = new("SignatureDoesNotMatch", 403, "The request signature we calculated does not match the signature you provided. Check your key and signing method.");
    public static readonly S3Error XAmzContentSha256Mismatch = new("XAmzContentSHA256Mismatch", 400, "The provided 'x-amz-content-sha256' header does not match what was computed.");
    public static readonly S3Error AuthorizationHeaderMalformed = new("AuthorizationHeaderMalformed", 400, "The authorization header is malformed.");
    public static readonly S3Error AuthorizationQueryParametersError = new("AuthorizationQueryParametersError", 400, "Error parsing the X-Amz-Credential parameter.");
    // As S3 answers for SSE-KMS objects whose key is unusable; the message names the key and its state.
    public static readonly S3Error KeyDisabled = new("KMS.DisabledException", 400, "The object's encryption key is disabled.");
    public static readonly S3Error KeyInvalidState = new("KMS.KMSInvalidStateException", 400, "The object's encryption key is pending destruction or destroyed.");
    public static readonly S3Error IntegrityFailure = new("InternalError", 500, "The stored ciphertext failed authentication; the object was modified at the storage backend.");
    // An outage of the storage backend (unreachable, timed out, 5xx): retryable, unlike IntegrityFailure (data missing or damaged).
    public static readonly S3Error PlacementUnsatisfiable = new("InvalidLocationConstraint", 400, "The bucket's placement policy cannot be satisfied by the configured storage backends.");
    public static readonly S3Error BackendUnavailable = new("ServiceUnavailable", 503, "The storage backend is unavailable; please retry.");
    // S3's own answer to too many requests: every client retries it with backoff.
    public static readonly S3Error SlowDown = new("SlowDown", 503, "Too many concurrent uploads for the gateway's memory bound; please retry.");
    public static readonly S3Error CatalogUnavailable = new("ServiceUnavailable", 503, "The object catalog's database is unavailable; nothing was changed, please retry.");
    public static readonly S3Error ServiceUnavailable = new("ServiceUnavailable", 503, "The key service is unavailable; no operation is answered without an audit record.");
    // Sealed: 503 ServiceUnavailable, which every S3 client retries with backoff (the unseal may come meanwhile).
    public static readonly S3Error Sealed = new("ServiceUnavailable", 503, "The gateway is sealed: no object can be encrypted or decrypted until it is unsealed.");

    // Server-side-encryption requests (SSE-KMS, SSE-C), with the codes and statuses S3 answers.
    public static readonly S3Error KmsNotFound = new("KMS.NotFoundException", 400, "The key named in x-amz-server-side-encryption-aws-kms-key-id does not exist.");
    // S3 passes KMS's refusal on with the "KMS." prefix, as for the two above.
    public static readonly S3Error KmsInvalidKeyUsage = new("KMS.InvalidKeyUsageException", 400, "The key cannot protect objects: it is not a symmetric ENCRYPT_DECRYPT key.");
    public static readonly S3Error InvalidEncryptionAlgorithm = new("InvalidEncryptionAlgorithmError", 400, "The encryption request you specified is not valid. The valid value is AES256.");
    public static readonly S3Error CustomerKeyMissing = new("InvalidRequest", 400, "The object was stored using a form of Server Side Encryption. The correct parameters must be provided to retrieve the object.");
    public static readonly S3Error CustomerKeyNotApplicable = new("InvalidRequest", 400, "The encryption parameters are not applicable to this object.");

    // Tagging and storage classes.
    public static readonly S3Error InvalidTag = new("InvalidTag", 400, "The tag provided was not a valid tag.");
    public static readonly S3Error NoSuchTagSet = new("NoSuchTagSet", 404, "The TagSet does not exist");
    public static readonly S3Error InvalidStorageClass = new("InvalidStorageClass", 400, "The storage class you specified is not valid");
    // Object Lock and lifecycle, with S3's codes and statuses.
    public static readonly S3Error ObjectLocked = new("AccessDenied", 403, "Access Denied because object protected by object lock.");
    public static readonly S3Error InvalidBucketState = new("InvalidBucketState", 409, "The request is not valid with the current state of the bucket.");
    public static readonly S3Error ObjectLockNotEnabled = new("InvalidRequest", 400, "Bucket is missing Object Lock Configuration");
    public static readonly S3Error ObjectLockConfigurationNotFound = new("ObjectLockConfigurationNotFoundError", 404, "Object Lock configuration does not exist for this bucket");
    public static readonly S3Error NoSuchObjectLockConfiguration = new("NoSuchObjectLockConfiguration", 404, "The specified object does not have a ObjectLock configuration");
    public static readonly S3Error NoSuchLifecycleConfiguration = new("NoSuchLifecycleConfiguration", 404, "The lifecycle configuration does not exist");
    // Access control (ACLs, bucket policies, public access block, object ownership), with S3's codes and statuses.
    public static readonly S3Error MalformedAcl = new("MalformedACLError", 400, "The XML you provided was not well-formed or did not validate against our published schema.");
    public static readonly S3Error MalformedPolicy = new("MalformedPolicy", 400, "Policies must be valid JSON and the first byte must be '{'");
    public static readonly S3Error NoSuchBucketPolicy = new("NoSuchBucketPolicy", 404, "The bucket policy does not exist");
    public static readonly S3Error NoSuchPublicAccessBlockConfiguration = new("NoSuchPublicAccessBlockConfiguration", 404, "The public access block configuration was not found");
    public static readonly S3Error AccessControlListNotSupported = new("AccessControlListNotSupported", 400, "The bucket does not allow ACLs");
    public static readonly S3Error InvalidBucketAclWithObjectOwnership = new("InvalidBucketAclWithObjectOwnership", 400, "Bucket cannot have ACLs set with ObjectOwnership's BucketOwnerEnforced setting");
    public static readonly S3Error UnresolvableGrantByEmailAddress = new("UnresolvableGrantByEmailAddress", 400, "The email address you provided does not match any account on record.");

    /// <summary>The code of every error above.</summary>
    public static IEnumerable<string> Codes =>
        typeof(S3Error).GetFields(System.Reflection.BindingFlags.Public | System.Reflection.BindingFlags.Static)
            .Where(f => f.FieldType == typeof(S3Error)).Select(f => ((S3Error)f.GetValue(null)!).Code);
}

/// <summary>A protocol-level failure raised by an S3 handler, answered as S3 XML.</summary>
public sealed class S3Exception(S3Error error, string? message = null, string? resource = null) : Exception(message ?? error.Message)
{
    public S3Error Error { get; } = error;
    public string? Resource { get; } = resource;
    public IReadOnlyDictionary<string, string>? Extra { get; init; }

    /// <summary>Response headers the error is answered with (a delete marker's x-amz-delete-marker and version id).</summary>
    public IReadOnlyDictionary<string, string>? Headers { get; init; }
}
