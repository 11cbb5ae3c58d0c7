-- Denied requests on the objects of {{ cookiecutter.project_name }} in the last :lookback_hours hours.
-- Source: the Unity Catalog audit log system table (system.access.audit). Parameters:
-- :catalog and :schema (the target's), :lookback_hours (conf/monitoring.yml). Run by the
-- `monitor` command of the monitoring job; any row is an access_audit violation.
SELECT
  event_time,
  workspace_id,
  service_name,
  action_name,
  user_identity.email AS user_email,
  source_ip_address,
  COALESCE(
    request_params['full_name_arg'],
    request_params['securable_full_name'],
    CONCAT_WS('.', request_params['catalog_name'], request_params['schema_name'], request_params['name'])
  ) AS securable,
  response.status_code AS status_code,
  response.error_message AS error_message
FROM system.access.audit
WHERE
  event_time >= CURRENT_TIMESTAMP() - MAKE_INTERVAL(0, 0, 0, 0, CAST(:lookback_hours AS INT), 0, 0)
  AND service_name = 'unityCatalog'
  AND (
    response.status_code IN (401, 403)
    OR response.error_message LIKE '%PERMISSION_DENIED%'
  )
  AND (
    request_params['full_name_arg'] LIKE CONCAT(:catalog, '.', :schema, '.%')
    OR request_params['full_name_arg'] = CONCAT(:catalog, '.', :schema)
    OR request_params['securable_full_name'] LIKE CONCAT(:catalog, '.', :schema, '.%')
    OR (request_params['catalog_name'] = :catalog AND request_params['schema_name'] = :schema)
  )
ORDER BY event_time DESC
