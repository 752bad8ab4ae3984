using Coffre.Crypto;
using Coffre.Objects;

namespace Coffre.Server.S3;

/// <summary>Maps domain failures onto S3 errors: the one place where that decision is made.</summary>
public static class S3ErrorMap
{
    public static S3Error From(ObjectError error) => error switch
    {
        ObjectError.NoSuchBucket => S3Error.NoSuchBucket,
        ObjectError.BucketAlreadyExists => S3Error.BucketAlreadyExists,
        ObjectError.BucketNotEmpty => S3Error.BucketNotEmpty,
        ObjectError.InvalidBucketName => S3Error.InvalidBucketName,
        ObjectError.NoSuchKey => S3Error.NoSuchKey,
        ObjectError.NoSuchVersion => S3Error.NoSuchVersion,
        ObjectError.InvalidObjectName => S3Error.KeyTooLong,
        ObjectError.InvalidRange => S3Error.InvalidRange,
        ObjectError.NoSuchUpload => S3Error.NoSuchUpload,
        ObjectError.InvalidPart => S3Error.InvalidPart,
        ObjectError.InvalidPartOrder => S3Error.InvalidPartOrder,
        ObjectError.EntityTooSmall => S3Error.EntityTooSmall,
        ObjectError.EntityTooLarge => S3Error.EntityTooLarge,
        ObjectError.BadDigest => S3Error.BadDigest,
        ObjectError.InvalidDigest => S3Error.InvalidDigest,
        ObjectError.InvalidArgument => S3Error.InvalidArgument,
        ObjectError.KeyDisabled => S3Error.KeyDisabled,
        ObjectError.KeyInvalidState => S3Error.KeyInvalidState,
        ObjectError.IntegrityFailure => S3Error.IntegrityFailure,
        ObjectError.KeyServiceUnavailable => S3Error.ServiceUnavailable,
        ObjectError.Sealed => S3Error.Sealed,
        ObjectError.BackendUnavailable => S3Error.BackendUnavailable,
        ObjectError.SlowDown => S3Error.SlowDown,
        ObjectError.CatalogUnavailable => S3Error.CatalogUnavailable,
        ObjectError.AccessDenied => S3Error.AccessDenied,
        ObjectError.PreconditionFailed => S3Error.PreconditionFailed,
        ObjectError.CustomerKeyMissing => S3Error.CustomerKeyMissing,
        ObjectError.CustomerKeyMismatch => S3Error.AccessDenied,
        ObjectError.CustomerKeyNotApplicable => S3Error.CustomerKeyNotApplicable,
        ObjectError.KeyNotFound => S3Error.KmsNotFound,
        ObjectError.KeyInvalidUsage => S3Error.KmsInvalidKeyUsage,
        ObjectError.ObjectLocked => S3Error.ObjectLocked,
        ObjectError.InvalidBucketState => S3Error.InvalidBucketState,
        ObjectError.ObjectLockNotEnabled => S3Error.ObjectLockNotEnabled,
        _ => S3Error.InternalError,
    };

    public static S3Exception From(ObjectStoreException e) => new(From(e.Error), e.Message);

    public static S3Error From(Storage.Placement.PlacementException e) => S3Error.PlacementUnsatisfiable;

    public static S3Exception From(AuthenticationFailedException e) => new(S3Error.IntegrityFailure, e.Message);
}
