using System.Net.Http.Json;
using CyberHub.Contracts;
using CyberHub.Web;
using Microsoft.AspNetCore.Components.Web;
using Microsoft.AspNetCore.Components.WebAssembly.Hosting;

var builder = WebAssemblyHostBuilder.CreateDefault(args);
builder.RootComponents.Add<App>("#app");
builder.RootComponents.Add<HeadOutlet>("head::after");

// Core serves the app, so its origin is Core's; the AI service's browser-facing address comes from Core.
var core = new Uri(builder.HostEnvironment.BaseAddress);
using (var boot = new HttpClient { BaseAddress = core })
{
    var config = await boot.GetFromJsonAsync<WebConfig>("api/v1/web/config", CyberHubJson.Options)
        ?? throw new InvalidOperationException("Core sent no web configuration.");
    builder.Services.AddCyberHubWeb(core, new Uri(config.AiUrl));
}

var host = builder.Build();
await host.Services.GetRequiredService<CyberHub.Web.Session.SessionState>().LoadAsync();
await host.RunAsync();
