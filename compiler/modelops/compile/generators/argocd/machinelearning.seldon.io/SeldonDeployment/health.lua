-- SeldonDeployment (Seldon Core v1): Argo CD ships no health check for it.
local hs = {}
local status = obj.status
if status == nil or status.state == nil then
  hs.status = "Progressing"
  hs.message = "Waiting for the Seldon operator to report a state"
  return hs
end
-- The operator writes description: "" when it has nothing to say; "" is true in Lua.
local function described(fallback)
  if status.description ~= nil and status.description ~= "" then
    return status.description
  end
  return fallback
end
local generation = obj.metadata and obj.metadata.generation
if generation ~= nil and status.observedGeneration ~= nil and status.observedGeneration < generation then
  hs.status = "Progressing"
  hs.message = "Waiting for the Seldon operator to observe generation " .. generation
  return hs
end
if status.state == "Available" then
  hs.status = "Healthy"
  hs.message = described("SeldonDeployment is available")
elseif status.state == "Failed" then
  hs.status = "Degraded"
  hs.message = described("SeldonDeployment failed")
else
  hs.status = "Progressing"
  hs.message = described("SeldonDeployment is " .. status.state)
end
return hs
