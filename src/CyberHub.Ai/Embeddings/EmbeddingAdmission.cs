using System.Globalization;
using System.Security.Claims;
using CyberHub.Contracts;
using CyberHub.ServiceDefaults.Auth;
using CyberHub.ServiceDefaults.Errors;
using CyberHub.ServiceDefaults.RateLimiting;
using Microsoft.AspNetCore.Http;

namespace CyberHub.Ai.Embeddings;

/// <summary>Who asks the model for work: the key their budget and turns are counted under, and their ceilings.</summary>
public sealed record EmbeddingCaller(string Key, bool Author, bool Unlimited)
{
    /// <summary>The service's own work (the demo catalog at startup): no ceiling, no budget, but turns like anyone.</summary>
    public static readonly EmbeddingCaller System = new("system", Author: true, Unlimited: true);
}

/// <summary>
/// What a caller must pass before the model runs for them, checked on the tokenised texts: the per-request ceiling of
/// their role (413), room in the model's queue (503, or 429 when the caller alone fills their share), and their budget
/// of model tokens per minute (429), counted in the rate limit store (Redis when configured) so it holds across
/// instances. Then the work is split into <see cref="EmbeddingLimits.BatchSize"/> batches served by
/// <see cref="FairModelScheduler"/>.
/// </summary>
public sealed class EmbeddingAdmission(EmbeddingLimits limits, IRateLimitStore store, IHttpContextAccessor http, FairModelScheduler scheduler)
{
    private readonly RateLimitRule _learnerBudget = RateLimitRule.PerMinute("embedding_tokens", limits.LearnerTokensPerMinute);
    private readonly RateLimitRule _authorBudget = RateLimitRule.PerMinute("embedding_tokens_author", limits.AuthorTokensPerMinute);
    private readonly Dictionary<string, int> _queuedByCaller = new(StringComparer.Ordinal);
    private readonly Lock _gate = new();
    private int _queued;

    public EmbeddingLimits Limits => limits;

    public FairModelScheduler Scheduler => scheduler;

    /// <summary>Texts admitted and not yet embedded, all callers together.</summary>
    public int Queued => Volatile.Read(ref _queued);

    /// <summary>The caller of the current request: learners by user, authors, admins and service clients by client.</summary>
    public EmbeddingCaller Caller()
    {
        if (http.HttpContext is not { } context)
        {
            return EmbeddingCaller.System;
        }
        var user = context.User;
        if (user.Identity?.IsAuthenticated == true && user.FindFirstValue(CyberHubClaims.Subject) is { Length: > 0 } subject)
        {
            var author = user.IsInRole(Roles.ContentCreator) || user.IsInRole(Roles.Admin) || user.IsInRole(Roles.Service);
            return new EmbeddingCaller($"user:{subject}", author, Unlimited: false);
        }
        return new EmbeddingCaller($"ip:{context.Connection.RemoteIpAddress}", Author: false, Unlimited: false);
    }

    /// <summary>Admits <paramref name="tokenCounts"/> (one per text) for the current caller, or throws the refusal.</summary>
    public async Task<Admitted> AdmitAsync(IReadOnlyList<int> tokenCounts, CancellationToken cancellationToken)
    {
        var caller = Caller();
        var texts = tokenCounts.Count;
        if (caller.Unlimited)
        {
            return new Admitted(this, caller, 0);
        }
        var tokens = 0;
        foreach (var count in tokenCounts)
        {
            tokens += count;
        }
        var role = caller.Author ? "content authors" : "learners";
        var maxTexts = caller.Author ? limits.AuthorMaxTexts : limits.LearnerMaxTexts;
        var maxTokens = caller.Author ? limits.AuthorMaxTokensPerRequest : limits.LearnerMaxTokensPerRequest;
        if (texts > maxTexts)
        {
            throw new ApiException(StatusCodes.Status413PayloadTooLarge,
                Invariant($"texts: at most {maxTexts} texts per request for {role} (got {texts})."));
        }
        if (tokens > maxTokens)
        {
            throw new ApiException(StatusCodes.Status413PayloadTooLarge,
                Invariant($"texts: {tokens} model tokens after tokenisation; at most {maxTokens} per request for {role}. Send fewer or shorter texts."));
        }

        Reserve(caller, texts);
        try
        {
            var budget = caller.Author ? _authorBudget : _learnerBudget;
            var decision = await store.AcquireManyAsync(budget, caller.Key, Math.Max(1, tokens), cancellationToken);
            if (!decision.Allowed)
            {
                var seconds = Math.Max(1, (int)Math.Ceiling(decision.RetryAfter.TotalSeconds));
                throw Refused(StatusCodes.Status429TooManyRequests, seconds,
                    Invariant($"Embedding budget spent: {budget.PermitLimit} model tokens a minute for {role}; this request needs {tokens}. Try again in {seconds} s."));
            }
        }
        catch
        {
            Release(caller, texts);
            throw;
        }
        return new Admitted(this, caller, texts);
    }

    private void Reserve(EmbeddingCaller caller, int texts)
    {
        lock (_gate)
        {
            var mine = _queuedByCaller.GetValueOrDefault(caller.Key);
            if (mine + texts > limits.MaxQueuedTextsPerCaller)
            {
                throw Refused(StatusCodes.Status429TooManyRequests, 1,
                    Invariant($"Too many texts waiting for the model for this caller ({mine} queued, at most {limits.MaxQueuedTextsPerCaller}): wait for earlier requests to finish."));
            }
            if (_queued + texts > limits.MaxQueuedTexts)
            {
                throw Refused(StatusCodes.Status503ServiceUnavailable, 2,
                    "The embedding model is busy: too many texts are waiting. Try again shortly.");
            }
            _queuedByCaller[caller.Key] = mine + texts;
            _queued += texts;
        }
    }

    private void Release(EmbeddingCaller caller, int texts)
    {
        if (texts == 0)
        {
            return;
        }
        lock (_gate)
        {
            var left = _queuedByCaller.GetValueOrDefault(caller.Key) - texts;
            if (left > 0)
            {
                _queuedByCaller[caller.Key] = left;
            }
            else
            {
                _queuedByCaller.Remove(caller.Key);
            }
            _queued -= texts;
        }
    }

    private static ApiException Refused(int status, int retryAfterSeconds, string detail) => new(status, detail)
    {
        Headers = new Dictionary<string, string> { ["Retry-After"] = retryAfterSeconds.ToString(CultureInfo.InvariantCulture) },
    };

    private static string Invariant(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);

    /// <summary>An admitted request: its turns at the model, and its place in the queue given back as its batches finish.</summary>
    public sealed class Admitted(EmbeddingAdmission admission, EmbeddingCaller caller, int texts) : IDisposable
    {
        private int _left = texts;

        public EmbeddingCaller Caller => caller;

        public Task<FairModelScheduler.Turn> TurnAsync(CancellationToken cancellationToken) =>
            admission.Scheduler.TurnAsync(caller.Key, cancellationToken);

        /// <summary>Gives back the queue places of <paramref name="texts"/> embedded texts.</summary>
        public void Done(int texts)
        {
            var given = Math.Min(texts, _left);
            _left -= given;
            admission.Release(caller, given);
        }

        public void Dispose() => Done(_left);
    }
}
