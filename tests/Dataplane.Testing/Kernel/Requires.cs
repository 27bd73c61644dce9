namespace Dataplane.Testing.Kernel;

/// <summary>
/// The first lines of a test that needs something from the machine. What is absent makes the test SKIPPED with
/// the reason on the runner's skip line (the test must be a [SkippableFact] or [SkippableTheory]); what is present
/// lets it run — nothing skips when the feature is there. `.ci/run` lists every skip with its reason at the end.
/// </summary>
public static class Requires
{
    public static void Root() => Kernel(KernelProbe.Root);

    public static void Kernel(params Capability[] capabilities)
    {
        foreach (var c in capabilities) Skip.IfNot(c.Present, c.SkipReason);
    }

    /// <summary>Root and these programs (Debian packages that `./dev test` and .ci/run install).</summary>
    public static void RootAnd(params string[] tools)
    {
        Root();
        Tools(tools);
    }

    public static void Tools(params string[] tools)
    {
        var missing = tools.Where(t => !Processes.Sh.Has(t)).ToArray();
        Skip.If(missing.Length > 0, $"needs {string.Join(", ", missing)}: not installed (`./dev test` and .ci/run install the test packages)");
    }
}
