namespace Dataplane.ClusterMesh.Kvstore;

/// <summary>One key appearing/changing (Value set) or disappearing (Value null) in a watched prefix.</summary>
public readonly record struct KvChange(string Key, string? Value)
{
    public bool IsDelete => Value is null;
}
