// The Function App's user-assigned managed identity: every connection the app makes
// (Storage, Event Hubs, SignalR, PostgreSQL, Key Vault, Application Insights) uses it.

@description('Name of the user-assigned managed identity.')
param name string

param location string
param tags object = {}

resource identity 'Microsoft.ManagedIdentity/userAssignedIdentities@2023-01-31' = {
  name: name
  location: location
  tags: tags
}

output id string = identity.id
output name string = identity.name
output clientId string = identity.properties.clientId
output principalId string = identity.properties.principalId
