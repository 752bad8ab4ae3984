using Coffre.Kms.Access;
using Coffre.Server.Admin;
using Coffre.Server.Auth;
using Coffre.Server.Hosting;

namespace Coffre.Cli.AccessKeys;

/// <summary>Access keys managed offline, in the data directory's key store; a running server picks the change up within its refresh interval.</summary>
public sealed class LocalAccessKeyAdmin(Deployment deployment) : IAccessKeyAdmin
{
    private readonly AccessKeyManager _manager = new(deployment.Keys, deployment.AccessKeys);

    public Task<AccessKeyBody> CreateAsync(CreateAccessKeyBody request, CancellationToken ct)
    {
        var grants = Validated((request.Grants ?? new GrantsBody()).ToGrants());
        var created = _manager.Create(grants, request.Description, CliContext.Principal);
        return Task.FromResult(AccessKeyBody.From(created.Key, created.SecretAccessKey));
    }

    public Task<IReadOnlyList<AccessKeyBody>> ListAsync(CancellationToken ct) =>
        Task.FromResult<IReadOnlyList<AccessKeyBody>>([.. _manager.List().Select(k => AccessKeyBody.From(k))]);

    public Task<AccessKeyBody> ShowAsync(string accessKeyId, CancellationToken ct) => Task.FromResult(AccessKeyBody.From(_manager.Show(accessKeyId)));

    public Task<AccessKeyBody> GrantAsync(string accessKeyId, GrantAccessKeyBody request, CancellationToken ct)
    {
        var add = Validated((request.Add ?? new GrantsBody()).ToChange());
        var remove = (request.Remove ?? new GrantsBody()).ToChange();
        return Task.FromResult(AccessKeyBody.From(_manager.Grant(accessKeyId, add, remove, CliContext.Principal)));
    }

    public Task<AccessKeyBody> RevokeAsync(string accessKeyId, CancellationToken ct) =>
        Task.FromResult(AccessKeyBody.From(_manager.Revoke(accessKeyId, CliContext.Principal)));

    public Task<AccessKeyBody> RotateAsync(string accessKeyId, CancellationToken ct)
    {
        var rotated = _manager.Rotate(accessKeyId, CliContext.Principal);
        return Task.FromResult(AccessKeyBody.From(rotated.Key, rotated.SecretAccessKey));
    }

    private static AccessGrants Validated(AccessGrants grants)
    {
        try
        {
            return AccessGrantRules.Validated(grants);
        }
        catch (ArgumentException e)
        {
            throw new CliException(ExitCodes.Usage, e.Message);
        }
    }

    public void Dispose() => deployment.Dispose();
}
