using CyberHub.Ai;
using CyberHub.Core;
using CyberHub.Host;

// cyberhub [all]                                        run Core (:8000) and AI (:8001) in one process
// cyberhub core | ai                                    run one service alone
// cyberhub create-admin --email E --password P          create or repair an admin account, then exit
// cyberhub create-service-client NAME                   register a machine caller and print its client_id and secret, then exit
// cyberhub rotate-signing-key [--prune]                 write a new token signing key (or print one, with Auth__SigningKeyPem set), then exit
// cyberhub import FILE                                  load a JSON or CSV catalog into the vector store, then exit
// cyberhub rebuild-recommendations                      recount co-completions and learners' completions from Core's progress, then exit
var named = args.Length > 0 && !args[0].StartsWith('-');
var command = named ? args[0] : "all";
var rest = named ? args[1..] : args;

return command switch
{
    "all" => await Commands.RunAsync(CoreApp.Build(rest), AiApp.Build(rest)),
    "core" => await Commands.RunAsync(CoreApp.Build(rest)),
    "ai" => await Commands.RunAsync(AiApp.Build(rest)),
    "create-admin" => await Commands.CreateAdminAsync(rest),
    "create-service-client" => await Commands.CreateServiceClientAsync(rest),
    "rotate-signing-key" => Commands.RotateSigningKey(rest),
    "import" => await Commands.ImportAsync(rest),
    "rebuild-recommendations" => await Commands.RebuildRecommendationsAsync(rest),
    _ => Commands.Usage($"Unknown command '{command}'."),
};
